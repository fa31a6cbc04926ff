"""Line charts as inline SVG, drawn in Python: the report needs no script and loads nothing.

Each line carries its numbers twice: visibly (axis labels, legend) and as data for tools and tests
(``data-series``/``data-total``/``data-peak`` attributes and a ``<title>`` a browser shows on hover).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from html import escape

__all__ = ["Line", "line_chart", "nice_ceiling"]

_WIDTH, _HEIGHT = 320, 96
_LEFT, _RIGHT, _TOP, _BOTTOM = 34, 6, 6, 16


@dataclass(frozen=True, slots=True)
class Line:
    name: str  # stable id, e.g. "accepted"; also the CSS class suffix
    label: str  # for people, e.g. "accepted/s"
    values: Sequence[float | None]
    total: int | None = None  # the raw count behind a per-second series, when it has one


def nice_ceiling(value: float) -> float:
    """The smallest 1, 2 or 5 times a power of ten at or above ``value``: a y-axis top that reads well."""
    if value <= 0:
        return 1.0
    power = 10.0 ** math.floor(math.log10(value))
    for factor in (1, 2, 5, 10):
        if value <= factor * power * (1 + 1e-9):
            return factor * power
    return 10 * power


def _number(value: float) -> str:
    return f"{value:.0f}" if value >= 10 or value == int(value) else f"{value:.1f}"


def _duration(seconds: int) -> str:
    hours, rest = divmod(seconds, 3600)
    return f"{hours}:{rest // 60:02d}:{rest % 60:02d}" if hours else f"{rest // 60}:{rest % 60:02d}"


def _path(values: Sequence[float | None], top: float) -> str:
    """SVG path data; a missing value breaks the line rather than drawing it down to zero."""
    width, height = _WIDTH - _LEFT - _RIGHT, _HEIGHT - _TOP - _BOTTOM
    count = max(len(values) - 1, 1)
    parts: list[str] = []
    pen_down = False
    for i, value in enumerate(values):
        if value is None:
            pen_down = False
            continue
        x = _LEFT + width * i / count
        y = _TOP + height * (1 - min(value / top, 1.0))
        parts.append(f"{'L' if pen_down else 'M'}{x:.1f} {y:.1f}")
        pen_down = True
    return "".join(parts)


def _line(line: Line, top: float, unit: str) -> str:
    present = [v for v in line.values if v is not None]
    peak = max(present, default=0.0)
    about = f"{line.label}: peak {_number(peak)} {unit}"
    attributes = f'class="s-{escape(line.name)}" data-series="{escape(line.name)}" data-peak="{peak:.3f}"'
    if line.total is not None:
        about += f", {line.total} in all"
        attributes += f' data-total="{line.total}"'
    return f'<path {attributes} d="{_path(line.values, top)}"><title>{escape(about)}</title></path>'


def line_chart(*, title: str, lines: Sequence[Line], unit: str, seconds: int) -> str:
    """One small chart; ``seconds`` is the span of the shared time axis, for its end label."""
    top = nice_ceiling(max((v for line in lines for v in line.values if v is not None), default=0.0))
    bottom = _HEIGHT - _BOTTOM
    parts = [
        f'<svg class="chart" viewBox="0 0 {_WIDTH} {_HEIGHT}" role="img" aria-label="{escape(title)}">',
        f"<title>{escape(title)}</title>",
        f'<line class="axis" x1="{_LEFT}" y1="{_TOP}" x2="{_LEFT}" y2="{bottom}"/>',
        f'<line class="axis" x1="{_LEFT}" y1="{bottom}" x2="{_WIDTH - _RIGHT}" y2="{bottom}"/>',
        f'<line class="gridline" x1="{_LEFT}" y1="{_TOP}" x2="{_WIDTH - _RIGHT}" y2="{_TOP}"/>',
        f'<text x="{_LEFT - 3}" y="{_TOP + 8}" text-anchor="end">{_number(top)}</text>',
        f'<text x="{_LEFT - 3}" y="{bottom}" text-anchor="end">0</text>',
        f'<text x="{_LEFT}" y="{_HEIGHT - 3}">0:00</text>',
        f'<text x="{_WIDTH - _RIGHT}" y="{_HEIGHT - 3}" text-anchor="end">{_duration(seconds)}</text>',
        f'<text x="{(_LEFT + _WIDTH) // 2}" y="{_HEIGHT - 3}" text-anchor="middle">{escape(unit)}</text>',
    ]
    parts.extend(_line(line, top, unit) for line in lines)
    parts.append("</svg>")
    return "".join(parts)
