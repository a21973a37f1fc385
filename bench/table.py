"""One row of the benchmark table, and the table ``make bench`` prints."""

import re
import statistics
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass


@dataclass(frozen=True)
class Row:
    """A measured figure and, when it has one, its target.

    ``passed`` is ``None`` for a figure shown for information only.
    """

    measure: str
    figure: str
    target: str = ""
    passed: bool | None = None

    @property
    def verdict(self) -> str:
        return {True: "pass", False: "FAIL", None: ""}[self.passed]


def at_most(measure: str, value: float, limit: float, unit: str = "", digits: int = 1) -> Row:
    """A row whose figure must not exceed ``limit``."""
    return Row(measure, f"{value:.{digits}f}{unit}", f"<= {limit:g}{unit}", value <= limit)


def at_least(measure: str, value: float, limit: float, unit: str = "", digits: int = 1) -> Row:
    """A row whose figure must reach ``limit``."""
    return Row(measure, f"{value:.{digits}f}{unit}", f">= {limit:g}{unit}", value >= limit)


def info(measure: str, figure: str) -> Row:
    return Row(measure, figure)


def format_table(rows: Iterable[Row]) -> str:
    rows = list(rows)
    header = Row("measure", "figure", "target", None)
    widths = [
        max(len(getattr(row, column)) for row in [header, *rows])
        for column in ("measure", "figure", "target")
    ]
    lines = []
    for row in [header, *rows]:
        verdict = "result" if row is header else row.verdict
        cells = [row.measure.ljust(widths[0]), row.figure.rjust(widths[1]), row.target.ljust(widths[2])]
        lines.append("  ".join([*cells, verdict]).rstrip())
    lines.insert(1, "  ".join("-" * width for width in [*widths, 6]))
    return "\n".join(lines)


def milliseconds(action: Callable[[], object]) -> float:
    """How long ``action()`` took, in milliseconds."""
    started = time.perf_counter()
    action()
    return (time.perf_counter() - started) * 1000


def median(values: Iterable[float]) -> float:
    return statistics.median(values)


def indexes_used(plan: str) -> str:
    """The indexes an EXPLAIN plan scans, in its order; "none" for a plan that scans only tables."""
    return ", ".join(dict.fromkeys(re.findall(r"Index (?:Only )?Scan (?:using|on) (\w+)", plan))) or "none"
