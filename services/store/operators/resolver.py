"""Resolves an operator credential to the operator and its scopes through the narrow
`platform.operator_credential` function (shop_control role). Not cached: operator calls are
few, and a revoked or expired credential must stop at once."""

from __future__ import annotations

import asyncpg

from services.store.operators.rules import (
    OPERATOR_TOKEN_PREFIX,
    Operator,
    hash_operator_token,
)


class OperatorResolver:
    def __init__(self, control_pool: asyncpg.Pool) -> None:
        self._pool = control_pool

    async def resolve(self, token: str) -> Operator | None:
        if not token.startswith(OPERATOR_TOKEN_PREFIX):
            return None
        row = await self._pool.fetchrow(
            "SELECT id, name, scopes FROM platform.operator_credential($1)",
            hash_operator_token(token),
        )
        if row is None:
            return None
        return Operator(row["id"], row["name"], frozenset(row["scopes"]))
