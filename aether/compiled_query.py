"""A read built with the ORM, compiled to SQL once, then run many times with other values.

Django compiles a queryset to SQL every time it runs. For a read with joins or subqueries on a hot
path that costs more than PostgreSQL takes to answer it: a first onboarding's lock and its read of
what exists took 2 to 3 ms of Python each to build, against under 0.4 ms in the driver (bench/RESULTS.md,
2026-12-02). A ``CompiledQuery`` builds its queryset once, with a marker value
where each value that changes goes (a fresh UUID for a user's id, say), compiles it on its first run,
and from then on sends that SQL with the real values in the markers' places; its rows are converted
as the queryset's own would be (JSON decoded, and so on).

The queryset is still the one definition of the read: nothing here is written in SQL. On a database
other than PostgreSQL (SQLite, for ``make run``) the queryset is built and run as usual each time.
"""

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.db import connection
from django.db.models import QuerySet
from django.db.models.sql.compiler import SQLCompiler


class CompiledQuery:
    """``build(**markers)``, a ``values()`` queryset, compiled once and run with other values.

    ``markers`` are values no real run passes (fresh UUIDs, for ids), each of the type the queryset
    takes there; each must reach the compiled parameters unchanged, which PostgreSQL's backend does for
    strings, numbers and UUIDs.
    """

    def __init__(self, build: Callable[..., QuerySet], **markers: object) -> None:
        self._build = build
        self._markers = markers
        self._compiled: _Compiled | None = None

    def rows(self, **values: object) -> list[dict[str, Any]]:
        """The rows the queryset built with ``values`` would give, as dicts."""
        if connection.vendor != "postgresql":
            return list(self._build(**values))
        compiled = self._compiled or self._compile()
        params = list(compiled.params)
        for name, positions in compiled.positions.items():
            for position in positions:
                params[position] = values[name]
        with connection.cursor() as cursor:
            cursor.execute(compiled.sql, params)
            fetched = cursor.fetchall()
        return [dict(zip(compiled.names, row, strict=True)) for row in compiled.convert(fetched)]

    def first(self, **values: object) -> dict[str, Any] | None:
        rows = self.rows(**values)
        return rows[0] if rows else None

    def _compile(self) -> "_Compiled":
        queryset = self._build(**self._markers)
        query = queryset.query
        # Bound to the connection proxy, not to this thread's connection: the compiled query serves
        # every thread, and its converters ask the connection they are given.
        compiler = query.get_compiler(connection=connection)
        sql, params = compiler.as_sql()
        positions = {
            name: [i for i, param in enumerate(params) if param == marker]
            for name, marker in self._markers.items()
        }
        missing = [name for name, found in positions.items() if not found]
        if missing:
            raise ValueError(f"markers not found in the compiled query's parameters: {', '.join(missing)}")
        # The names ValuesIterable gives the columns.
        names = list(query.selected or [*query.extra_select, *query.values_select, *query.annotation_select])
        self._compiled = _Compiled(sql, tuple(params), positions, names, compiler)
        return self._compiled


@dataclass(frozen=True)
class _Compiled:
    sql: str
    params: tuple
    positions: dict[str, list[int]]  # where each marker's value goes among the parameters
    names: list[str]
    compiler: SQLCompiler

    def convert(self, rows: list[tuple]) -> list:
        """The database's rows as the queryset would have them (Django's own converters)."""
        return list(self.compiler.results_iter(results=[rows]))
