"""The report's style sheet, inlined in the page (a .css file would need package-data configuration).

Three widths matter: a laptop (a grid of domain cards), a narrow window (one column, tables scroll
sideways inside their own box) and paper (two columns, no card split across pages).
"""

__all__ = ["CSS"]

CSS = """
:root { color-scheme: light; --ok: #1a7f37; --bad: #cf222e; --rate: #0550ae; --p50: #8250df; --p95: #bc4c00; }
* { box-sizing: border-box; }
body { font: 15px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: #1f2328;
       margin: 0 auto; max-width: 72rem; padding: 1rem 1.25rem 3rem; background: #fff; }
h1 { font-size: 1.45rem; margin: .2rem 0 .3rem; }
h2 { font-size: 1.1rem; margin: 1.8rem 0 .5rem; border-bottom: 1px solid #d0d7de; padding-bottom: .2rem; }
h3 { font-size: .98rem; margin: 0 0 .3rem; overflow-wrap: anywhere; }
.meta { color: #59636e; font-size: .88rem; overflow-wrap: anywhere; }
.verdict { border-left: 6px solid var(--ok); background: #f6f8fa; padding: .6rem .9rem; margin: .8rem 0; }
.verdict.code-1, .verdict.code-2 { border-color: var(--bad); }
.verdict.code-130 { border-color: #bf8700; }
.verdict strong { font-size: 1.1rem; }
.wrap { overflow-x: auto; }
table { border-collapse: collapse; font-size: .9rem; margin: .3rem 0; }
th, td { text-align: left; padding: .22rem .6rem .22rem 0; border-bottom: 1px solid #eaeef2;
         vertical-align: top; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; }
td.msg { overflow-wrap: anywhere; min-width: 12rem; }
pre { background: #f6f8fa; padding: .5rem .7rem; white-space: pre-wrap; overflow-wrap: anywhere;
      margin: .2rem 0 .8rem; }
.overview { display: grid; grid-template-columns: repeat(auto-fit, minmax(18rem, auto)); gap: 0 2.5rem;
            justify-content: start; }
.grid { display: grid; grid-template-columns: repeat(auto-fill, minmax(21rem, 1fr)); gap: .9rem; }
.card { border: 1px solid #d0d7de; border-radius: 6px; padding: .6rem .7rem; break-inside: avoid; }
.legend { font-size: .78rem; color: #59636e; margin: .1rem 0; }
.legend span { margin-right: .7rem; white-space: nowrap; }
.legend span::before { content: ""; display: inline-block; width: .9rem; height: 3px; margin-right: .25rem;
                       vertical-align: middle; background: currentColor; }
svg.chart { width: 100%; height: auto; display: block; }
svg text { font: 9px system-ui, sans-serif; fill: #59636e; }
svg .axis { stroke: #8c959f; stroke-width: 1; }
svg .gridline { stroke: #eaeef2; stroke-width: 1; }
svg path { fill: none; stroke-width: 1.4; stroke-linejoin: round; }
.s-accepted, .k-accepted { stroke: var(--ok); color: var(--ok); }
.s-throttled, .k-throttled { stroke: var(--bad); color: var(--bad); }
.s-rate, .k-rate { stroke: var(--rate); color: var(--rate); stroke-dasharray: 4 2; }
.s-p50, .k-p50 { stroke: var(--p50); color: var(--p50); }
.s-p95, .k-p95 { stroke: var(--p95); color: var(--p95); stroke-dasharray: 2 2; }
.failure { margin-bottom: 1.1rem; }
@media (max-width: 40rem) {
  body { padding: .6rem; font-size: 14px; }
  .grid { grid-template-columns: 1fr; }
  th, td { padding-right: .35rem; }
}
@media print {
  body { max-width: none; font-size: 10pt; padding: 0; }
  h2 { break-after: avoid; }
  .card, .failure, table { break-inside: avoid; }
  .grid { grid-template-columns: repeat(2, 1fr); }
  .wrap { overflow: visible; }
}
"""
