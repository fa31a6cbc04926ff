"""Reading a timeline back for the report: per-domain series over the whole run, all segments joined.

A killed run may have left a torn last line: any line that is not a complete JSON record is skipped.
Domain ids are per segment (each run numbers its domains from 0), so they are resolved segment by segment.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from batchproxy.report.domain import Domain, DomainKind
from batchproxy.report.timeline import timeline_path

__all__ = ["Point", "Segment", "TimelineData", "read_timeline"]


@dataclass(frozen=True, slots=True)
class Point:
    """One (domain, second) line of the timeline."""

    second: int
    attempts: int
    accepted: int
    throttled: int
    errors: int
    rate: float | None
    p50: float | None
    p95: float | None


@dataclass(slots=True)
class Segment:
    started: float
    command: str
    resume: bool
    input: str | None
    ended: float | None = None
    exit_code: int | None = None  # None: no end record, the process was killed
    reason: str | None = None


@dataclass(slots=True)
class TimelineData:
    path: Path
    found: bool = False
    segments: list[Segment] = field(default_factory=list)
    series: dict[Domain, list[Point]] = field(default_factory=dict)

    @property
    def first_second(self) -> int | None:
        starts = [points[0].second for points in self.series.values() if points]
        return min(starts) if starts else None

    @property
    def last_second(self) -> int | None:
        ends = [points[-1].second for points in self.series.values() if points]
        return max(ends) if ends else None


def read_timeline(results: Path) -> TimelineData:
    """The timeline beside ``results``; an absent one gives empty data (the report says so)."""
    path = timeline_path(results)
    data = TimelineData(path)
    try:
        handle = path.open("rb")
    except FileNotFoundError:
        return data
    data.found = True
    ids: dict[int, Domain] = {}
    with handle:
        for raw in handle:
            record = _parse(raw)
            if record is None:
                continue
            try:
                _apply(data, ids, record)
            except (KeyError, TypeError, ValueError):
                continue  # a record this version does not understand: the rest still draws
    for points in data.series.values():
        points.sort(key=lambda p: p.second)
    return data


def _parse(raw: bytes) -> dict[str, Any] | None:
    if not raw.endswith(b"\n"):
        return None  # the torn tail of a killed run
    try:
        record = json.loads(raw)
    except ValueError:
        return None
    return record if isinstance(record, dict) and record.get("v") == 1 else None


def _apply(data: TimelineData, ids: dict[int, Domain], record: dict[str, Any]) -> None:
    kind = record.get("type")
    if kind == "segment":
        ids.clear()
        data.segments.append(
            Segment(
                started=float(record["t"]), command=str(record.get("command", "")),
                resume=bool(record.get("resume")), input=record.get("input"),
            )
        )  # fmt: skip
    elif kind == "domain":
        account: DomainKind = "account" if record.get("kind") == "account" else "profile"
        ids[int(record["id"])] = Domain(account, record.get("name"), str(record["region"]))
    elif kind == "second" and int(record["d"]) in ids:
        data.series.setdefault(ids[int(record["d"])], []).append(_point(record))
    elif kind == "end" and data.segments:
        segment = data.segments[-1]
        segment.ended, segment.exit_code = float(record["t"]), int(record["exit_code"])
        segment.reason = record.get("reason")


def _point(record: dict[str, Any]) -> Point:
    return Point(
        second=int(record["s"]), attempts=int(record["n"]), accepted=int(record["ok"]),
        throttled=int(record["thr"]), errors=int(record["err"]), rate=record.get("rate"),
        p50=record.get("p50"), p95=record.get("p95"),
    )  # fmt: skip
