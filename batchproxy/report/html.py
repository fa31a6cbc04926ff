"""The report page: one self-contained HTML file, readable on a laptop, in a narrow window and on paper.

Everything is inline — the style sheet and the charts (SVG drawn in Python) — and there is no script,
so the page loads nothing from anywhere and opens from disk. Every value that came from a file is
escaped; error messages were redacted when read. With many domains only the ``TOP_DOMAINS`` busiest get
charts; the table lists them all.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from html import escape
from pathlib import Path

from batchproxy.report.charts import Line, line_chart
from batchproxy.report.domain import Domain
from batchproxy.report.events import iso_ms
from batchproxy.report.results_scan import ResultsScan
from batchproxy.report.series import Axis, Series, bucketed
from batchproxy.report.style import CSS
from batchproxy.report.timeline_read import TimelineData
from batchproxy.report.verdict import Verdict
from batchproxy.rows import Status

__all__ = ["TOP_DOMAINS", "render"]

TOP_DOMAINS = 12


def render(scan: ResultsScan, timeline: TimelineData, verdict: Verdict, *, results: Path) -> str:
    body = [
        "<h1>batchproxy run report</h1>",
        f'<p class="meta">{escape(str(results))} · {scan.rows} rows · generated {iso_ms(time.time())}</p>',
        *_verdict(verdict),
        '<div class="overview">',
        *_counts(scan),
        *_segments(timeline),
        "</div>",
        *_domains(timeline),
        *_failures(scan),
    ]
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>batchproxy report: {escape(results.name)}</title><style>{CSS}</style></head>\n<body>\n"
        + "\n".join(body)
        + "\n</body></html>\n"
    )


def _verdict(verdict: Verdict) -> Iterator[str]:
    yield (
        f'<div class="verdict code-{verdict.exit_code}" id="verdict" data-exit-code="{verdict.exit_code}">'
        f"<strong>exit status {verdict.exit_code}</strong>: {escape(verdict.meaning)}</div>"
    )
    yield '<h2 id="next">Next</h2>'
    if not verdict.commands:
        yield "<p>Nothing to do: every row is ok.</p>"
    for why, command in verdict.commands:
        yield f'<p>{escape(why)}:</p><pre class="command">{escape(command)}</pre>'


def _counts(scan: ResultsScan) -> Iterator[str]:
    yield '<section><h2>Rows</h2><div class="wrap"><table id="counts">'
    yield '<tr><th>status</th><th class="num">rows</th><th class="num">share</th></tr>'
    total = scan.rows or 1
    for status in Status:
        n = scan.counts[status.value]
        yield (
            f'<tr data-status="{status.value}"><td>{status.value}</td><td class="num">{n}</td>'
            f'<td class="num">{100 * n / total:.1f}%</td></tr>'
        )
    yield f'<tr data-status="total"><th>total</th><th class="num">{scan.rows}</th><th></th></tr>'
    yield "</table></div>"
    if scan.lines > scan.rows:
        note = f"{scan.lines} lines for {scan.rows} rows: the latest line of each row counts."
        yield f'<p class="meta">{note}</p>'
    yield "</section>"


def _segments(timeline: TimelineData) -> Iterator[str]:
    yield "<section><h2>Run</h2>"
    if not timeline.found:
        yield f'<p class="meta">No timeline ({escape(timeline.path.name)}) beside the results: no charts.</p>'
        yield "</section>"
        return
    yield '<div class="wrap"><table id="segments"><tr><th>started</th><th>ended</th><th>command</th>'
    yield '<th class="num">exit</th><th>why it stopped</th></tr>'
    for segment in timeline.segments:
        ended = iso_ms(segment.ended) if segment.ended is not None else "— (killed)"
        code = "" if segment.exit_code is None else str(segment.exit_code)
        command = segment.command + (" --resume" if segment.resume else "")
        yield (
            f"<tr><td>{iso_ms(segment.started)}</td><td>{ended}</td><td>{escape(command)}</td>"
            f'<td class="num">{code}</td><td>{escape(segment.reason or "")}</td></tr>'
        )
    yield "</table></div></section>"


def _domains(timeline: TimelineData) -> Iterator[str]:
    first, last = timeline.first_second, timeline.last_second
    if first is None or last is None:
        return
    axis = Axis.spanning(first, last)
    series = {domain: bucketed(points, axis) for domain, points in timeline.series.items()}
    ranked = sorted(series, key=lambda d: (-series[d].totals["attempts"], d.label))
    yield f"<h2>Domains ({len(ranked)})</h2>"
    if len(ranked) > TOP_DOMAINS:
        yield f'<p class="meta">Charts for the {TOP_DOMAINS} busiest; the table lists all.</p>'
    yield '<div class="grid" id="charts">'
    span = last - first + 1
    for domain in ranked[:TOP_DOMAINS]:
        yield _domain_card(domain, series[domain], span)
    yield "</div>"
    yield from _domain_table(ranked, series, timeline)


def _domain_card(domain: Domain, data: Series, span: int) -> str:
    throughput = line_chart(
        title=f"{domain.label}: requests per second",
        lines=[
            Line("accepted", "accepted/s", data.accepted, data.totals["accepted"]),
            Line("throttled", "429s/s", data.throttled, data.totals["throttled"]),
            Line("rate", "limiter rate", data.rate),
        ],
        unit="req/s",
        seconds=span,
    )
    latency = line_chart(
        title=f"{domain.label}: latency",
        lines=[Line("p50", "p50", data.p50), Line("p95", "p95", data.p95)],
        unit="ms",
        seconds=span,
    )
    legend_a = '<span class="k-accepted">accepted/s</span><span class="k-throttled">429s/s</span>'
    legend_b = '<span class="k-p50">latency p50</span><span class="k-p95">p95 (ms)</span>'
    return (
        f'<div class="card" data-domain="{escape(domain.label)}"><h3>{escape(domain.kind)}: '
        f"{escape(domain.label)}</h3>"
        f'<div class="legend">{legend_a}<span class="k-rate">limiter rate</span></div>{throughput}'
        f'<div class="legend">{legend_b}</div>{latency}</div>'
    )


def _domain_table(
    ranked: list[Domain], series: dict[Domain, Series], timeline: TimelineData
) -> Iterator[str]:
    yield '<div class="wrap"><table id="domains"><tr><th>profile / account</th><th>region</th>'
    yield _headings("requests", "accepted", "429s", "other errors", "last rate", "worst p95 ms") + "</tr>"
    for domain in ranked:
        totals = series[domain].totals
        points = timeline.series[domain]
        rates = [p.rate for p in points if p.rate is not None]
        p95 = max((p.p95 for p in points if p.p95 is not None), default=None)
        who = f"{domain.kind} {domain.name}" if domain.name is not None else f"{domain.kind} (default)"
        yield (
            f'<tr data-domain="{escape(domain.label)}"><td>{escape(who)}</td><td>{escape(domain.region)}</td>'
            + _numbers(totals["attempts"], totals["accepted"], totals["throttled"], totals["errors"])
            + _numbers(_maybe(rates[-1] if rates else None), _maybe(p95))
            + "</tr>"
        )
    yield "</table></div>"


def _headings(*names: str) -> str:
    return "".join(f'<th class="num">{escape(name)}</th>' for name in names)


def _numbers(*values: object) -> str:
    return "".join(f'<td class="num">{escape(str(value))}</td>' for value in values)


def _maybe(value: float | None) -> str:
    if value is None:
        return "–"
    return f"{value:.1f}" if value < 100 else f"{value:.0f}"


def _failures(scan: ResultsScan) -> Iterator[str]:
    yield "<h2>Failures by error code</h2>"
    if not scan.error_codes:
        yield "<p>None.</p>"
        return
    for code, count in scan.error_codes.most_common():
        examples = scan.examples.get(code, [])
        yield (
            f'<section class="failure" data-code="{escape(code)}" data-count="{count}">'
            f"<h3>{escape(code)}: {count} row(s)</h3>"
        )
        yield '<div class="wrap"><table class="examples"><tr>' + _headings("row")
        yield (
            "<th>VoiceConnectorId</th><th>region</th>"
            + _headings("HTTP", "attempts")
            + "<th>message</th></tr>"
        )
        for example in examples:
            region = " / ".join(v for v in (example.profile, example.region) if v)
            yield (
                f"<tr>{_numbers(example.row)}<td>{escape(example.connector)}</td><td>{escape(region)}</td>"
                + _numbers(example.http_status, example.attempts)
                + f'<td class="msg">{escape(example.message)}</td></tr>'
            )
        yield "</table></div></section>"
