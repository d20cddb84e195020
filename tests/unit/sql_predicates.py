"""Finds the SQL the services send and the tenant tables it touches, with PostgreSQL's own
parser (pglast = libpg_query), and says which statements do not name their store.

A table is a tenant table when a migration creates it with a `store_id` column (or it is
`stores`, whose store column is `id`). A statement names its store when, at every query level,
each tenant table in it is pinned: its store column is compared with a value (`store_id = $1`,
`= ANY ($1)`, a constant), or joined by equality to the store column of a pinned table (at that
level or an enclosing one: correlated sub-queries inherit). An INSERT names its store when its
column list has the store column and each row gives it a value (or a pinned table's column).
On Citus that is what routes a statement to one shard; here it is defence in depth beside RLS.
"""

from __future__ import annotations

import ast
import functools
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from pglast import ast as pg
from pglast import parse_sql
from pglast.enums import A_Expr_Kind, BoolExprType, SetOperation
from pglast.parser import ParseError

ROOT = Path(__file__).resolve().parents[2]
# The services write SQL keywords in capitals; prose ("update the…") is not a statement.
SQL_START = re.compile(r"^\s*\(?\s*(SELECT|INSERT|UPDATE|DELETE|WITH)\b")
# What an unknown f-string fragment ({columns}, {where}, {direction}…) is tried as, in turn.
FILLERS = ("x", "TRUE", "x = 1", "", "1", "x.y", "SELECT 1", "(1)")


@dataclass(frozen=True)
class Statement:
    path: str  # relative to the repository
    line: int
    sql: str


@functools.cache
def tenant_tables() -> dict[str, str]:
    """table → its store column, from every CREATE TABLE in migrations/."""
    tables = {"stores": "id"}
    for path in sorted((ROOT / "migrations").glob("*.sql")):
        for raw in parse_sql(path.read_text()):
            stmt = raw.stmt
            if isinstance(stmt, pg.CreateStmt):
                columns = {e.colname for e in stmt.tableElts or () if isinstance(e, pg.ColumnDef)}
                if "store_id" in columns:
                    tables[stmt.relation.relname] = "store_id"
    return tables


Pieces = list[str | None]  # literal text, None for a fragment nobody can know statically
Names = dict[str, Pieces]  # what string (or list of conditions: "[name]") a name holds


def _bind(nodes: list[ast.stmt] | Iterator[ast.AST], names: Names) -> Names:
    """The first string each name is bound to among `nodes` (later `+=` only AND more
    conditions onto a `where`), added to a copy of `names`."""
    bound = dict(names)
    for n in nodes:
        if isinstance(n, ast.AnnAssign) and n.value is not None:
            targets, value = [n.target], n.value
        elif isinstance(n, ast.Assign):
            targets, value = list(n.targets), n.value
        else:
            continue
        for target in (t for t in targets if isinstance(t, ast.Name)):
            if isinstance(value, ast.List) and value.elts:
                items = [_pieces(e, bound) for e in value.elts]
                if all(None not in i for i in items):
                    bound.setdefault(f"[{target.id}]", ["\x00".join(str(i[0]) for i in items)])
            elif isinstance(value, (ast.Constant, ast.JoinedStr, ast.BinOp, ast.Call)):
                pieces = _pieces(value, bound)
                if pieces != [None]:
                    bound.setdefault(target.id, pieces)
    return bound


def _pieces(node: ast.expr, known: Names) -> Pieces:
    """The text of a string expression: literal parts, and None for each unknown fragment."""
    if isinstance(node, ast.Constant):
        return [node.value] if isinstance(node.value, str) else [None]
    if isinstance(node, ast.Name) and node.id in known:
        return list(known[node.id])
    if isinstance(node, ast.JoinedStr):
        return [p for v in node.values for p in _pieces(v, known)]
    if isinstance(node, ast.FormattedValue):
        inner = _pieces(node.value, known)
        return inner if None not in inner else [None]
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
        return _pieces(node.left, known) + _pieces(node.right, known)
    # " AND ".join(conditions), where conditions starts as a list of literal conditions
    # (later appends only AND more): the literal ones stand for the whole.
    if (
        isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and node.func.attr == "join"
        and isinstance(node.func.value, ast.Constant)
        and len(node.args) == 1
        and isinstance(node.args[0], ast.Name)
        and f"[{node.args[0].id}]" in known
    ):
        items = str(known[f"[{node.args[0].id}]"][0]).split("\x00")
        return [str(node.func.value.value).join(items)]
    return [None]


def _error_at(text: str) -> int | None:
    """Where the parser gives up (None: it parses)."""
    try:
        parse_sql(text)
    except ParseError as exc:
        return int(exc.args[1]) if len(exc.args) > 1 else 0
    return None


def _render(parts: list[str | None]) -> str | None:
    """The statement with each unknown fragment filled: a search, left to right, that keeps a
    filler while the parser gets past it (None when no filling parses)."""
    holes = sum(p is None for p in parts)
    budget = [5000]

    def text(fill: list[str]) -> tuple[str, list[int]]:
        out, starts, k = "", [], 0
        for p in parts:
            if p is None:
                starts.append(len(out))
                out += fill[k] if k < len(fill) else "x"
                k += 1
            else:
                out += p
        return out, starts

    def search(chosen: list[str]) -> list[str] | None:
        n = len(chosen)
        if n == holes:
            return chosen if _error_at(text(chosen)[0]) is None else None
        for filler in FILLERS:
            budget[0] -= 1
            if budget[0] < 0:
                return None
            trial, starts = text([*chosen, filler])
            error = _error_at(trial)
            if error is None or error > starts[n] + len(filler):
                found = search([*chosen, filler])
                if found is not None:
                    return found
        return None

    found = search([])
    return None if found is None else text(found)[0]


def service_sql(base: Path = ROOT / "services") -> Iterator[Statement]:
    """Every SQL statement written as a string under services/: literals, f-strings and `+`
    concatenations, with the module's and the function's own string names substituted
    (fragments such as a shared column list are not statements themselves)."""
    for path in sorted(base.rglob("*.py")):
        tree = ast.parse(path.read_text())
        module = _bind(tree.body, {})
        scope: dict[int, Names] = {}
        for func in ast.walk(tree):  # outer functions first: inner ones overwrite
            if isinstance(func, (ast.FunctionDef, ast.AsyncFunctionDef)):
                local = _bind(ast.walk(func), module)
                for n in ast.walk(func):
                    scope[id(n)] = local
        composite = (ast.JoinedStr, ast.BinOp)
        inner: set[int] = set()
        fragments: set[str] = set()
        for node in ast.walk(tree):
            if isinstance(node, composite):
                for child in ast.walk(node):
                    if child is not node:
                        inner.add(id(child))
                    if isinstance(child, ast.Name):
                        fragments.add(child.id)
        assigned_fragment = {
            id(node.value)
            for node in ast.walk(tree)
            if isinstance(node, ast.Assign)
            and any(isinstance(t, ast.Name) and t.id in fragments for t in node.targets)
        }
        for node in ast.walk(tree):
            if id(node) in inner or id(node) in assigned_fragment:
                continue
            if isinstance(node, composite) or (
                isinstance(node, ast.Constant) and isinstance(node.value, str)
            ):
                parts = _pieces(node, scope.get(id(node), module))  # type: ignore[arg-type]
                literal = "".join(p if p is not None else "{}" for p in parts)
                if not SQL_START.match(literal):
                    continue
                rendered = _render(parts) if None in parts else literal
                yield Statement(str(path.relative_to(ROOT)), node.lineno, rendered or literal)


# ------------------------------------------------------------------------------------------
# The check
# ------------------------------------------------------------------------------------------
Key = tuple[str, str]  # (alias, column)


def _value(node: object) -> bool:
    """A value the statement itself supplies: a parameter or constant (possibly cast)."""
    if isinstance(node, pg.TypeCast):
        return _value(node.arg)
    return isinstance(node, (pg.ParamRef, pg.A_Const))


def _conjuncts(node: object) -> Iterator[object]:
    if isinstance(node, pg.BoolExpr) and node.boolop == BoolExprType.AND_EXPR:
        for arg in node.args:
            yield from _conjuncts(arg)
    elif node is not None:
        yield node


def _sublinks(node: object) -> Iterator[object]:
    """Sub-queries anywhere inside an expression (not descending into them)."""
    if isinstance(node, pg.SubLink):
        yield node.subselect
        return
    if isinstance(node, (tuple, list)):
        for item in node:
            yield from _sublinks(item)
        return
    if isinstance(node, pg.Node):
        for name in node:
            yield from _sublinks(getattr(node, name))


def _functions(node: object) -> set[str]:
    found: set[str] = set()
    if isinstance(node, pg.FuncCall):
        found.add(node.funcname[-1].sval)
    if isinstance(node, (tuple, list)):
        for item in node:
            found |= _functions(item)
    elif isinstance(node, pg.Node):
        for name in node:
            found |= _functions(getattr(node, name))
    return found


class Checker:
    def __init__(self, tables: dict[str, str]) -> None:
        self.tables = tables
        self.problems: list[str] = []

    def check(self, sql: str) -> list[str]:
        self.problems = []
        for raw in parse_sql(sql):
            self._statement(raw.stmt, {}, set())
            # Citus refuses volatile functions in DML on distributed tables: now() (the
            # transaction's time) instead.
            if isinstance(raw.stmt, (pg.InsertStmt, pg.UpdateStmt, pg.DeleteStmt)):
                if "clock_timestamp" in _functions(raw.stmt):
                    self.problems.append("clock_timestamp() in DML (use now())")
        return self.problems

    # A level: aliases of tenant tables (alias → table) and the quals that may pin them.
    def _statement(self, stmt: object, outer: dict[str, str], outer_pinned: set[str]) -> None:
        if isinstance(stmt, pg.SelectStmt):
            self._select(stmt, outer, outer_pinned)
        elif isinstance(stmt, pg.UpdateStmt):
            self._level(
                [stmt.relation, *(stmt.fromClause or ())],
                [stmt.whereClause],
                [stmt.targetList, stmt.whereClause],
                outer,
                outer_pinned,
                stmt.withClause,
            )
        elif isinstance(stmt, pg.DeleteStmt):
            self._level(
                [stmt.relation, *(stmt.usingClause or ())],
                [stmt.whereClause],
                [stmt.whereClause],
                outer,
                outer_pinned,
                stmt.withClause,
            )
        elif isinstance(stmt, pg.InsertStmt):
            self._insert(stmt, outer, outer_pinned)

    def _ctes(self, with_clause: object, outer: dict[str, str], pinned: set[str]) -> set[str]:
        names: set[str] = set()
        if isinstance(with_clause, pg.WithClause):
            for cte in with_clause.ctes:
                self._statement(cte.ctequery, outer, pinned)
                names.add(cte.ctename)
        return names

    def _select(self, stmt: pg.SelectStmt, outer: dict[str, str], pinned: set[str]) -> None:
        if stmt.op != SetOperation.SETOP_NONE:
            self._ctes(stmt.withClause, outer, pinned)
            self._statement(stmt.larg, outer, pinned)
            self._statement(stmt.rarg, outer, pinned)
            return
        self._level(
            list(stmt.fromClause or ()),
            [stmt.whereClause],
            [stmt.targetList, stmt.whereClause, stmt.havingClause, stmt.valuesLists],
            outer,
            pinned,
            stmt.withClause,
        )

    def _flatten(
        self, items: list[object], ctes: set[str]
    ) -> tuple[dict[str, str], list[object], list[object]]:
        """Tenant tables (alias → table), join quals and sub-selects of a FROM list."""
        rels: dict[str, str] = {}
        quals: list[object] = []
        subs: list[object] = []
        stack = list(items)
        while stack:
            item = stack.pop()
            if isinstance(item, pg.RangeVar):
                name = item.relname
                public = item.schemaname in (None, "public")
                if public and name in self.tables and name not in ctes:
                    rels[item.alias.aliasname if item.alias else name] = name
            elif isinstance(item, pg.JoinExpr):
                stack += [item.larg, item.rarg]
                quals.append(item.quals)
            elif isinstance(item, pg.RangeSubselect):
                subs.append(item.subquery)
        return rels, quals, subs

    def _level(
        self,
        items: list[object],
        where: list[object],
        expressions: list[object],
        outer: dict[str, str],
        outer_pinned: set[str],
        with_clause: object = None,
    ) -> dict[str, str]:
        ctes = self._ctes(with_clause, outer, outer_pinned)
        rels, join_quals, subs = self._flatten(items, ctes)
        pinned = self._pins(rels, [*where, *join_quals], outer, outer_pinned)
        for alias, table in rels.items():
            if alias not in pinned:
                self.problems.append(f"{table} ({alias}) is not pinned to a store")
        scope = {**outer, **rels}
        scope_pinned = outer_pinned | pinned
        for sub in [*subs, *_sublinks([*expressions, *join_quals])]:
            self._statement(sub, scope, scope_pinned)
        return rels

    def _pins(
        self,
        rels: dict[str, str],
        quals: list[object],
        outer: dict[str, str],
        outer_pinned: set[str],
    ) -> set[str]:
        scope = {**outer, **rels}

        def keys(ref: pg.ColumnRef) -> list[Key]:
            names = [f.sval for f in ref.fields if isinstance(f, pg.String)]
            if len(names) == 2:
                return [(names[0], names[1])] if names[0] in scope else []
            if len(names) == 1:  # unqualified: whichever table of this level has it
                return [(a, names[0]) for a, t in rels.items() if self.tables[t] == names[0]]
            return []

        parent: dict[Key, Key] = {}

        def find(k: Key) -> Key:
            while parent.get(k, k) != k:
                k = parent[k]
            return k

        seeds: list[Key] = [(a, self.tables[outer[a]]) for a in outer_pinned if a in outer]
        for qual in quals:
            for c in _conjuncts(qual):
                if not isinstance(c, pg.A_Expr) or c.kind not in (
                    A_Expr_Kind.AEXPR_OP,
                    A_Expr_Kind.AEXPR_OP_ANY,
                    A_Expr_Kind.AEXPR_IN,
                ):
                    continue
                if [n.sval for n in c.name] != ["="]:
                    continue
                left, right = c.lexpr, c.rexpr
                for a, b in ((left, right), (right, left)):
                    if isinstance(a, pg.ColumnRef) and (
                        _value(b) or (isinstance(b, (tuple, list)) and all(_value(x) for x in b))
                    ):
                        seeds += keys(a)
                if isinstance(left, pg.ColumnRef) and isinstance(right, pg.ColumnRef):
                    for x in keys(left):
                        for y in keys(right):
                            parent[find(x)] = find(y)
        roots = {find(s) for s in seeds}
        return {a for a, t in rels.items() if find((a, self.tables[t])) in roots}

    def _insert(self, stmt: pg.InsertStmt, outer: dict[str, str], pinned: set[str]) -> None:
        ctes = self._ctes(stmt.withClause, outer, pinned)
        table = stmt.relation.relname
        select = stmt.selectStmt
        if table in self.tables and table not in ctes:
            column = self.tables[table]
            names = [c.name for c in stmt.cols or ()]
            if column not in names:
                self.problems.append(f"INSERT INTO {table} does not name {column}")
            elif isinstance(select, pg.SelectStmt):
                at = names.index(column)
                if select.valuesLists:
                    for row in select.valuesLists:
                        if not _value(row[at]):
                            self.problems.append(f"INSERT INTO {table}: {column} is no value")
                elif select.targetList:
                    given = select.targetList[at].val
                    if not (_value(given) or isinstance(given, pg.ColumnRef)):
                        self.problems.append(f"INSERT INTO {table}: {column} is no value")
        if select is not None:
            self._statement(select, outer, pinned)
