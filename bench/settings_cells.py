"""Nanoseconds per row to check a row's cells: today's proxy rules against the settings layer.

The input pass validates every row before anything is sent, so what a row costs here is paid a million
times on a big file. The proxy row is measured both ways on the same cells: ``input._rules.RowChecker``
(which also parses Region and builds the Row) and ``settings.rules(...).for_header`` (id and setting
cells only). Two JSON-cell cases show the price of a cell that repeats (cached) and of one that does not.

    python bench/settings_cells.py [--rows 100000]

Best of three passes; on a shared machine only the ratio between lines means much.
"""

from __future__ import annotations

import argparse
import json
import random
import time
from collections.abc import Callable, Sequence

from batchproxy.input._reader import Header
from batchproxy.input._rules import RowChecker
from batchproxy.settings import rules, setting

PROXY: tuple[str, ...] = ("VoiceConnectorId", "DefaultSessionExpiryMinutes", "PhoneNumberPoolCountries")
PROXY += ("FallBackPhoneNumber", "Disabled", "Region")


def best_ns(rows: Sequence[tuple[str, ...]], check: Callable[[int, tuple[str, ...]], object]) -> float:
    best = float("inf")
    for _ in range(3):
        started = time.perf_counter()
        for number, row in enumerate(rows, start=1):
            check(number, row)
        best = min(best, time.perf_counter() - started)
    return best / len(rows) * 1e9


def proxy_rows(count: int, rng: random.Random) -> list[tuple[str, ...]]:
    return [
        (
            f"vc{number:020d}",
            rng.choice(["30", "60", "120", "1440"]),
            rng.choice(["US", "US;CA", "GB;DE;FR"]),
            rng.choice(["", "+14155550100"]),
            rng.choice(["", "true", "false"]),
            rng.choice(["us-east-1", "eu-west-2"]),
        )
        for number in range(count)
    ]


def routes_rows(count: int, *, unique: bool) -> list[tuple[str, ...]]:
    def cell(number: int) -> str:
        site = number if unique else number % 7
        routes = [
            {"Host": f"sbc{site}a.example.com", "Port": 5060, "Protocol": "TCP", "Priority": 1, "Weight": 10},
            {"Host": f"sbc{site}b.example.com", "Port": 5061, "Protocol": "UDP", "Priority": 2, "Weight": 10},
        ]
        return json.dumps(routes)

    return [(f"vc{number:020d}", cell(number), "") for number in range(count)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000)
    count = parser.parse_args().rows
    rows = proxy_rows(count, random.Random(7))
    header = Header(names=PROXY, columns=PROXY, unknown_columns=())
    today = RowChecker(header, default_region="us-east-1", needs_settings=True)
    proxy = rules(setting("proxy")).for_header(PROXY)
    print(f"proxy, input._rules RowChecker.check:      {best_ns(rows, today.check):6.0f} ns/row")
    print(f"proxy, settings for_header check:          {best_ns(rows, lambda _, r: proxy(r)):6.0f} ns/row")
    origination = rules(setting("origination")).for_header(("VoiceConnectorId", "Routes", "Disabled"))
    for unique in (False, True):
        label = "every cell unique" if unique else "7 distinct cells "
        routes = routes_rows(count, unique=unique)
        print(f"origination, 2 routes, {label}: {best_ns(routes, lambda _, r: origination(r)):6.0f} ns/row")


if __name__ == "__main__":
    main()
