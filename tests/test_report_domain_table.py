"""The summary's per-domain lines fit 80 columns, whatever the names and numbers."""

from __future__ import annotations

from batchproxy.report.domain import Domain
from batchproxy.report.domain_table import DomainRow, domain_lines, elide_middle


def row(name: str | None, region: str, **numbers: float) -> DomainRow:
    values = {"ok": 26, "done": 30, "attempts": 51, "throttles": 21, "elapsed": 1.2, **numbers}
    return DomainRow(
        domain=Domain("account" if name and name.isdigit() else "profile", name, region),
        ok=int(values["ok"]), done=int(values["done"]), attempts=int(values["attempts"]),
        throttles=int(values["throttles"]), elapsed=values["elapsed"],
    )  # fmt: skip


def test_regions_only_fit_and_line_up() -> None:
    """The common case: two regions, default credentials; numbers right-aligned under the header."""
    lines = domain_lines([row(None, "us-east-1"), row(None, "eu-west-2", ok=1_000_000, done=1_000_000)])
    assert lines[0] == "  by region:"
    assert all(len(line) <= 80 for line in lines), lines
    assert lines[2].startswith("    eu-west-2 ")
    assert "1000000/1000000" in lines[2]
    assert lines[3].startswith("    us-east-1 ")
    header, first = lines[1], lines[2]
    assert header.index("ok/rows") + len("ok/rows") == first.index("1000000/1000000") + len("1000000/1000000")


def test_long_names_are_elided_in_the_middle_and_still_fit() -> None:
    """Profiles and regions of any length: every line ≤ 80 columns, names keep their start and end."""
    long_profile = "production-payments-eu-central-" + "x" * 60 + "-blue"
    rows = [
        row(long_profile, "eu-central-1", attempts=12_345_678, throttles=999_999, elapsed=7_384.0),
        row("123456789012", "ap-southeast-2"),
        row(None, "us-east-1"),
    ]
    lines = domain_lines(rows)
    assert lines[0] == "  by profile/account and region:"
    assert all(len(line) <= 80 for line in lines), "\n".join(lines)
    elided = next(line for line in lines if line.strip().startswith("produc"))
    assert "…" in elided
    assert "-blue / eu-central-1" in elided
    assert "2:03:04" in elided
    assert "123456789012 / ap-southeast-2" in "\n".join(lines)


def test_narrower_terminals_and_a_single_domain() -> None:
    rows = [row("p" * 50, "us-east-1"), row("q" * 50, "us-west-2")]
    assert all(len(line) <= 70 for line in domain_lines(rows, width=70))
    assert domain_lines([row(None, "us-east-1")]) == []


def test_elide_middle() -> None:
    assert elide_middle("short", 10) == "short"
    assert elide_middle("abcdefghij", 5) == "ab…ij"
    assert elide_middle("abcdefghij", 6) == "abc…ij"
    assert len(elide_middle("x" * 100, 28)) == 28
