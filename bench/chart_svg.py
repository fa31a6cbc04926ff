"""An SVG line chart of one client's scenario (b) run, written by hand: no plotting dependency.

Three series against seconds since the emulator started: the emulator's capacity (a step line), the
puts it accepted each second, and the 429s it answered each second. That is the picture an operator
wants before trusting the tool: does the achieved rate hug the capacity, and what does it cost in 429s.

    python bench/chart_svg.py [bench/out/b.json]   # redraw from a saved run
"""

from __future__ import annotations

import json
import math
import sys
from collections.abc import Sequence
from pathlib import Path
from xml.sax.saxutils import escape

__all__ = ["write_chart"]

WIDTH, HEIGHT = 900, 420
LEFT, RIGHT, TOP, BOTTOM = 60, 20, 50, 60
COLOURS = {"capacity": "#888888", "accepted": "#1f77b4", "throttled": "#d62728"}


def _nice_step(span: float, ticks: int = 6) -> float:
    """A round tick step (1, 2 or 5 times a power of ten) giving about ``ticks`` ticks over ``span``."""
    raw = span / ticks
    power = 10.0 ** math.floor(math.log10(raw))
    return next(m * power for m in (1, 2, 5, 10) if m * power >= raw)


def _capacity_points(schedule: Sequence[tuple[float, float]], seconds: float) -> list[tuple[float, float]]:
    points: list[tuple[float, float]] = []
    for index, (start, rate) in enumerate(schedule):
        end = schedule[index + 1][0] if index + 1 < len(schedule) else seconds
        points += [(start, rate), (min(end, seconds), rate)]
    return points


def render(series: dict[str, list[int]], schedule: Sequence[tuple[float, float]], label: str) -> str:
    accepted, throttled = series["accepted"], series["throttled"]
    seconds = max(len(accepted), 1)
    capacity = _capacity_points(schedule, seconds)
    top = max([*accepted, *throttled, *(rate for _, rate in capacity), 1]) * 1.1
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM

    def x(t: float) -> float:
        return LEFT + t / seconds * plot_w

    def y(v: float) -> float:
        return TOP + plot_h - v / top * plot_h

    def polyline(points: Sequence[tuple[float, float]], colour: str, extra: str = "") -> str:
        text = " ".join(f"{x(t):.1f},{y(v):.1f}" for t, v in points)
        return f'<polyline points="{text}" fill="none" stroke="{colour}" stroke-width="2" {extra}/>'

    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{HEIGHT}" '
        f'viewBox="0 0 {WIDTH} {HEIGHT}" font-family="sans-serif" font-size="12">',
        f'<rect width="{WIDTH}" height="{HEIGHT}" fill="white"/>',
        f'<text x="{LEFT}" y="24" font-size="15" font-weight="bold">'
        f"Scenario (b): {escape(label)} against a capacity that changes mid-run</text>",
    ]
    step = _nice_step(top)
    value = 0.0
    while value <= top:
        parts.append(
            f'<line x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{y(value):.1f}" y2="{y(value):.1f}" stroke="#eee"/>'
        )
        parts.append(f'<text x="{LEFT - 6}" y="{y(value) + 4:.1f}" text-anchor="end">{value:g}</text>')
        value += step
    for t in range(0, seconds + 1, 10):
        parts.append(f'<text x="{x(t):.1f}" y="{TOP + plot_h + 18}" text-anchor="middle">{t}</text>')
    parts.append(
        f'<text x="{LEFT + plot_w / 2}" y="{HEIGHT - 22}" text-anchor="middle">seconds since start</text>'
    )
    parts.append(
        f'<text transform="translate(16 {TOP + plot_h / 2}) rotate(-90)" text-anchor="middle">'
        "requests per second</text>"
    )
    parts.append(f'<rect x="{LEFT}" y="{TOP}" width="{plot_w}" height="{plot_h}" fill="none" stroke="#999"/>')
    # One point per whole second, drawn at the middle of its bucket.
    parts.append(polyline(_capacity_points(schedule, seconds), COLOURS["capacity"], 'stroke-dasharray="6 4"'))
    parts.append(polyline([(t + 0.5, v) for t, v in enumerate(accepted)], COLOURS["accepted"]))
    parts.append(polyline([(t + 0.5, v) for t, v in enumerate(throttled)], COLOURS["throttled"]))
    legend = [
        ("capacity", "emulator capacity/s"),
        ("accepted", "accepted puts/s"),
        ("throttled", "429s/s"),
    ]
    for index, (key, text) in enumerate(legend):
        lx = LEFT + 10 + index * 190
        parts.append(
            f'<line x1="{lx}" x2="{lx + 24}" y1="40" y2="40" stroke="{COLOURS[key]}" stroke-width="3"/>'
        )
        parts.append(f'<text x="{lx + 30}" y="44">{text}</text>')
    parts.append("</svg>")
    return "\n".join(parts) + "\n"


def write_chart(
    path: Path, series: dict[str, list[int]], schedule: Sequence[tuple[float, float]], label: str
) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(render(series, schedule, label), encoding="utf-8")


def main() -> None:
    source = Path(sys.argv[1]) if len(sys.argv) > 1 else Path(__file__).parent / "out" / "b.json"
    saved = json.loads(source.read_text(encoding="utf-8"))
    client = "batchproxy" if "batchproxy" in saved["series"] else next(iter(saved["series"]))
    schedule = [(phase["from_s"], phase["capacity_per_s"]) for phase in saved["phases"][client]]
    write_chart(source.parent / "scenario_b.svg", saved["series"][client], schedule, client)


if __name__ == "__main__":
    main()
