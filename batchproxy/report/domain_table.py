"""The summary's per-domain lines, fitted to an 80-column terminal (issue 14, item 5).

The old per-region lines were about 100 columns wide and wrapped in a standard terminal. Here every
line is at most ``width`` columns: the numbers keep fixed right-aligned columns under one header, and a
long profile/account name is shortened in the middle — its start and end are what tell two names
apart (``prod-eu-…-payments``) — while the region is kept whole.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from batchproxy.report.domain import Domain

__all__ = ["DomainRow", "domain_lines", "elide_middle"]

ELLIPSIS = "…"
_INDENT = "    "
_HEADER = ("ok/rows", "requests", "429s", "time", "req/s")
_MIN_LABEL = 12


@dataclass(frozen=True, slots=True, kw_only=True)
class DomainRow:
    domain: Domain
    ok: int
    done: int
    attempts: int
    throttles: int
    elapsed: float  # seconds from its first request to its last outcome


def elide_middle(text: str, width: int) -> str:
    """``text`` cut to ``width`` characters by replacing its middle with one ellipsis."""
    if len(text) <= width:
        return text
    if width <= 1:
        return ELLIPSIS[:width]
    head = width // 2
    tail = width - 1 - head
    return text[:head] + ELLIPSIS + (text[-tail:] if tail else "")


def _duration(seconds: float) -> str:
    if seconds < 3600:
        return f"{seconds:.1f} s"
    whole = int(seconds)
    return f"{whole // 3600}:{whole % 3600 // 60:02d}:{whole % 60:02d}"


def domain_lines(rows: Sequence[DomainRow], *, width: int = 80) -> list[str]:
    """The "by region" block of the summary: a heading, a header line and one line per domain.

    Empty for fewer than two domains: the totals above already say it all.
    """
    if len(rows) < 2:
        return []
    ordered = sorted(rows, key=lambda r: (r.domain.region, r.domain.name or "", r.domain.kind))
    table = [_cells(row) for row in ordered]
    # Each number column as wide as its widest cell plus two spaces before it; the name gets the rest.
    sizes = [2 + max(len(cells[i]) for cells in [_HEADER, *table]) for i in range(len(_HEADER))]
    room = max(width - len(_INDENT) - sum(sizes), _MIN_LABEL)
    label_width = min(max(len(r.domain.label) for r in ordered), room)
    named = any(r.domain.name is not None for r in ordered)
    heading = "  by profile/account and region:" if named else "  by region:"
    lines = [heading, _INDENT + " " * label_width + _columns(_HEADER, sizes)]
    for row, cells in zip(ordered, table, strict=True):
        label = _label(row.domain, label_width).ljust(label_width)
        lines.append(_INDENT + label + _columns(cells, sizes))
    return lines


def _cells(row: DomainRow) -> tuple[str, ...]:
    rate = row.attempts / row.elapsed if row.elapsed > 0 else 0.0
    return (
        f"{row.ok}/{row.done}",
        str(row.attempts),
        str(row.throttles),
        _duration(row.elapsed),
        f"{rate:.1f}",
    )


def _label(domain: Domain, width: int) -> str:
    """The region stays whole (short, and what the reader scans for); the name gives way first."""
    if domain.name is None or len(domain.label) <= width:
        return elide_middle(domain.label, width)
    suffix = f" / {domain.region}"
    if len(suffix) >= width - 3:
        return elide_middle(domain.label, width)
    return elide_middle(domain.name, width - len(suffix)) + suffix


def _columns(cells: Sequence[str], sizes: Sequence[int]) -> str:
    return "".join(cell.rjust(size) for cell, size in zip(cells, sizes, strict=True))
