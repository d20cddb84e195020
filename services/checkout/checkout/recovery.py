"""The recovery worker: takes over checkouts whose worker stopped mid-way (their lease ran out)
and drives them to an end through the same steps a retry takes (CheckoutFlow.recover), so a
crash never leaves stock reserved or money without an order:

- processing: nothing reserved yet → carried on (its worker may only be queued behind other
  buyers); if it is older than ten minutes → failed (the shopper may retry with the key);
- reserved: the intent is asked for again with the same provider key (or looked up in the
  provider's consistent list): succeeded → order; declined → restock; unknown → later;
- requires_action past its wait: the intent is cancelled (or, if it was paid meanwhile, the
  order is placed) and the stock released;
- refunding: the refund is asked for again (same key)."""

from __future__ import annotations

import logging

from services.checkout.checkout.claims import StaleCheckouts
from services.checkout.checkout.flow import CheckoutFlow
from services.common.workers import PeriodicWorker

log = logging.getLogger(__name__)

BATCH = 20


class RecoveryWorker(PeriodicWorker):
    name = "checkout-recovery"

    def __init__(
        self,
        stale: StaleCheckouts,
        flow: CheckoutFlow,
        *,
        lease_seconds: int,
        interval: float = 1.0,
    ) -> None:
        super().__init__()
        self._stale = stale
        self._flow = flow
        self._lease = lease_seconds
        self.interval = interval

    async def run_once(self) -> bool:
        claimed = await self._stale.claim(BATCH, self._lease)
        for store_id, checkout_id in claimed:
            try:
                await self._flow.recover(store_id, checkout_id)
            except Exception:
                log.exception("recovering checkout %s failed; will retry", checkout_id)
        return len(claimed) == BATCH
