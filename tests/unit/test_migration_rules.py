"""Migrations that a Citus cluster can run (issue 20), checked with PostgreSQL's own parser:

- named constraints (Citus names each shard's constraints after them; an unnamed CHECK in a
  CREATE TABLE or ALTER TABLE gets a generated name that differs between nodes);
- one subcommand per ALTER TABLE, and no constraint inside ADD COLUMN (both failed on a live
  cluster: a multi-subcommand ALTER and `ADD COLUMN … CHECK` are refused on distributed tables);
- no volatile DEFAULT (a random default gave a different value on each copy of a reference
  table): ids and timestamps are written by the statements that insert rows, now() is stable;
- a new table keyed by store is created without foreign keys, distributed by
  `SELECT distribute_for_citus()` (0020c; a no-op on plain PostgreSQL), and only then
  constrained: the order Citus documents (tables → distribution → constraints);
- policies without sub-selects, each TO named roles.

Migrations that were on main before these rules existed cannot be rewritten (yoyo applies each
file once); they are listed in LEGACY, and 0020c makes them distributable anyway (it lifts the
foreign keys around the distribution step).
"""

from __future__ import annotations

from pathlib import Path

import pytest
from pglast import ast as pg
from pglast import parse_sql
from pglast.enums import AlterTableType, ConstrType

MIGRATIONS = Path(__file__).resolve().parents[2] / "migrations"
LEGACY = {
    "0001__roles",
    "0002__stores",
    "0003__catalog",
    "0004__domains_tokens_settings",
    "0005__events",
    "0006__catalog_admin",
    "0007__catalog_search",
    "0008__checkout",
    "0011__payments",
    "0011a__refunds_disputes",
    "0012__shipping_tax_fulfillment",
    "0013__customers",
    "0014__catalog_collections_search_sales",
    "0021__store_lifecycle",
    # Landed while these rules were being written: an unnamed primary key and a
    # clock_timestamp() default on platform.route_changes, a local (coordinator) table.
    "0017__edge_on_demand",
}
VOLATILE = {
    "random",
    "gen_random_uuid",
    "uuid_generate_v4",
    "clock_timestamp",
    "timeofday",
    "statement_timestamp",
    "nextval",
    "md5",  # only ever over random() here; stable on its own, but never needed in a default
}
NAMED = {
    ConstrType.CONSTR_CHECK,
    ConstrType.CONSTR_UNIQUE,
    ConstrType.CONSTR_PRIMARY,
    ConstrType.CONSTR_FOREIGN,
    ConstrType.CONSTR_EXCLUSION,
}


def _funcs(node: object) -> set[str]:
    found: set[str] = set()
    if isinstance(node, pg.FuncCall):
        found.add(node.funcname[-1].sval)
    if isinstance(node, (tuple, list)):
        for item in node:
            found |= _funcs(item)
    elif isinstance(node, pg.Node):
        for name in node:
            found |= _funcs(getattr(node, name))
    return found


def _has_subselect(node: object) -> bool:
    if isinstance(node, pg.SubLink):
        return True
    if isinstance(node, (tuple, list)):
        return any(_has_subselect(i) for i in node)
    if isinstance(node, pg.Node):
        return any(_has_subselect(getattr(node, n)) for n in node)
    return False


def problems(sql: str) -> list[str]:
    found: list[str] = []
    distributed_after: dict[str, bool] = {}  # new store-keyed table → distribution step seen

    def constraint(c: pg.Constraint, where: str) -> None:
        if c.contype in NAMED and not c.conname:
            found.append(f"{where}: unnamed {c.contype.name[7:].lower()} constraint")
        if c.contype == ConstrType.CONSTR_DEFAULT and _funcs(c.raw_expr) & VOLATILE:
            found.append(f"{where}: volatile default ({', '.join(_funcs(c.raw_expr) & VOLATILE)})")
        if c.contype == ConstrType.CONSTR_FOREIGN and where.split()[0] in distributed_after:
            if not distributed_after[where.split()[0]]:
                found.append(f"{where}: foreign key before the distribution step")

    for raw in parse_sql(sql):
        stmt = raw.stmt
        if isinstance(stmt, pg.CreateStmt):
            table = stmt.relation.relname
            columns = [e for e in stmt.tableElts or () if isinstance(e, pg.ColumnDef)]
            if any(c.colname == "store_id" for c in columns):
                distributed_after[table] = False
            for element in stmt.tableElts or ():
                if isinstance(element, pg.ColumnDef):
                    for c in element.constraints or ():
                        constraint(c, f"{table} {element.colname}")
                elif isinstance(element, pg.Constraint):
                    constraint(element, f"{table} (table constraint)")
        elif isinstance(stmt, pg.AlterTableStmt):
            table = stmt.relation.relname
            if len(stmt.cmds) > 1:
                found.append(f"ALTER TABLE {table}: {len(stmt.cmds)} subcommands in one ALTER")
            for cmd in stmt.cmds:
                if cmd.subtype == AlterTableType.AT_AddColumn:
                    for c in cmd.def_.constraints or ():
                        if c.contype in NAMED:
                            found.append(
                                f"ALTER TABLE {table} ADD COLUMN {cmd.def_.colname}: a constraint"
                                " inside ADD COLUMN (add it with its own ALTER … ADD CONSTRAINT)"
                            )
                        constraint(c, f"{table} {cmd.def_.colname}")
                elif cmd.subtype == AlterTableType.AT_AddConstraint:
                    constraint(cmd.def_, f"{table} (ALTER … ADD CONSTRAINT)")
                elif cmd.subtype == AlterTableType.AT_ColumnDefault and _funcs(cmd.def_) & VOLATILE:
                    found.append(f"ALTER TABLE {table} ALTER {cmd.name}: volatile default")
        elif isinstance(stmt, pg.SelectStmt) and "distribute_for_citus" in _funcs(stmt):
            distributed_after = dict.fromkeys(distributed_after, True)
        elif isinstance(stmt, pg.CreatePolicyStmt):
            where = f"policy {stmt.policy_name} on {stmt.table.relname}"
            if _has_subselect(stmt.qual) or _has_subselect(stmt.with_check):
                found.append(f"{where}: sub-select")
            roles = [r.rolename for r in stmt.roles or ()]
            if not roles or None in roles or "public" in roles:
                found.append(f"{where}: applies to every role (name its roles with TO)")
    return found


def _checked() -> list[Path]:
    return [p for p in sorted(MIGRATIONS.glob("*.sql")) if p.stem not in LEGACY]


def test_new_migrations_follow_the_citus_rules():
    checked = _checked()
    assert {"0020__citus_ready", "0020c__citus_distribution"} <= {p.stem for p in checked}
    failures = [f"{p.name}: {x}" for p in checked for x in problems(p.read_text())]
    assert not failures, "\n".join(failures)


def test_legacy_list_only_names_existing_migrations():
    assert LEGACY <= {p.stem for p in MIGRATIONS.glob("*.sql")}


@pytest.mark.parametrize(
    ("sql", "expected"),
    [
        ("CREATE TABLE t (store_id bigint, a int CHECK (a > 0))", "unnamed check"),
        ("CREATE TABLE t (a int, UNIQUE (a))", "unnamed unique"),
        ("ALTER TABLE t ADD COLUMN a int, ADD COLUMN b int", "2 subcommands"),
        ("ALTER TABLE t ADD COLUMN a int CONSTRAINT a_ok CHECK (a > 0)", "inside ADD COLUMN"),
        ("ALTER TABLE t ADD CHECK (a > 0)", "unnamed check"),
        ("ALTER TABLE t ADD COLUMN a text DEFAULT md5(random()::text)", "volatile default"),
        ("CREATE TABLE t (id uuid DEFAULT gen_random_uuid())", "volatile default"),
        ("ALTER TABLE t ALTER COLUMN a SET DEFAULT clock_timestamp()", "volatile default"),
        (
            "CREATE TABLE t (store_id bigint CONSTRAINT t_store REFERENCES stores (id))",
            "foreign key before the distribution step",
        ),
        (
            "CREATE TABLE t (store_id bigint);"
            " ALTER TABLE t ADD CONSTRAINT t_store FOREIGN KEY (store_id) REFERENCES stores (id)",
            "foreign key before the distribution step",
        ),
        (
            "CREATE POLICY p ON t USING (store_id = (SELECT current_setting('x')::bigint))",
            "sub-select",
        ),
        ("CREATE POLICY p ON t USING (true)", "every role"),
    ],
)
def test_each_rule_catches_its_pattern(sql, expected):
    assert any(expected in x for x in problems(sql)), problems(sql)


def test_the_documented_order_passes():
    sql = """
    CREATE TABLE t (store_id bigint NOT NULL, id uuid NOT NULL, created_at timestamptz
                    NOT NULL DEFAULT now(), CONSTRAINT t_pkey PRIMARY KEY (store_id, id));
    SELECT distribute_for_citus();
    ALTER TABLE t ADD CONSTRAINT t_store_fkey FOREIGN KEY (store_id) REFERENCES stores (id);
    ALTER TABLE t ADD COLUMN note text;
    ALTER TABLE t ADD CONSTRAINT t_note_length CHECK (char_length(note) <= 100);
    CREATE POLICY t_read ON t FOR SELECT TO shop_platform USING (true);
    """
    assert problems(sql) == []
