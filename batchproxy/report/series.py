"""A domain's timeline points turned into chart series on a shared time axis.

Every domain is drawn against the same axis (the whole run, all segments), so small multiples can be
compared at a glance. A long run is summarised into at most ``MAX_POINTS`` buckets: counts become
per-second averages over the bucket, the limiter's rate is its last value, p50 is the mean of the
seconds' medians weighted by answers, and p95 the highest of their p95s (a spike must stay visible).
Seconds with no line had no request: their counts are 0 and they have no rate or latency.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from batchproxy.report.timeline_read import Point

__all__ = ["MAX_POINTS", "Axis", "Series", "bucketed"]

MAX_POINTS = 240


@dataclass(frozen=True, slots=True)
class Axis:
    """``buckets`` buckets of ``step`` seconds from epoch second ``start``."""

    start: int
    step: int
    buckets: int

    @classmethod
    def spanning(cls, first: int, last: int) -> Axis:
        span = last - first + 1
        step = -(-span // MAX_POINTS)
        return cls(first, step, -(-span // step))


@dataclass(slots=True)
class Series:
    accepted: list[float]
    throttled: list[float]
    rate: list[float | None]
    p50: list[float | None]
    p95: list[float | None]
    totals: dict[str, int]  # raw sums over the run: attempts, accepted, throttled, errors


def bucketed(points: Sequence[Point], axis: Axis) -> Series:
    n = axis.buckets
    accepted, throttled = [0.0] * n, [0.0] * n
    rate: list[float | None] = [None] * n
    p50_sum, p50_weight = [0.0] * n, [0] * n
    p95: list[float | None] = [None] * n
    totals = {"attempts": 0, "accepted": 0, "throttled": 0, "errors": 0}
    for point in points:
        i = min(max((point.second - axis.start) // axis.step, 0), n - 1)
        accepted[i] += point.accepted / axis.step
        throttled[i] += point.throttled / axis.step
        if point.rate is not None:
            rate[i] = point.rate
        answers = point.accepted + point.throttled + point.errors
        if point.p50 is not None and answers:
            p50_sum[i] += point.p50 * answers
            p50_weight[i] += answers
        if point.p95 is not None:
            p95[i] = max(p95[i] or 0.0, point.p95)
        totals["attempts"] += point.attempts
        totals["accepted"] += point.accepted
        totals["throttled"] += point.throttled
        totals["errors"] += point.errors
    p50 = [s / w if w else None for s, w in zip(p50_sum, p50_weight, strict=True)]
    return Series(accepted, throttled, rate, p50, p95, totals)
