"""How many PutVoiceConnectorProxy requests per second the emulator serves, with no faults.

Starts ``batchproxy emulator`` as a subprocess (as a user would), reads its URL from the first line of
stdout, drives it with a raw aiohttp client at high concurrency for a bounded number of requests, then
stops it by PID with SIGTERM. The client signs nothing: the emulator checks the ``Authorization``
header's shape and scope only, so a syntactically valid fake is enough and costs the client nothing.

    python bench/emulator_throughput.py [--requests 30000] [--concurrency 64] [--connectors 1000]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import time
from pathlib import Path

import aiohttp

from batchproxy.emulator.process import spawn

FAKE_AUTH = (
    "AWS4-HMAC-SHA256 Credential=AKIDBENCH/20240101/us-east-1/chime/aws4_request, "
    "SignedHeaders=content-type;host;x-amz-date, Signature=" + "0" * 64
)
BODY = json.dumps({"DefaultSessionExpiryMinutes": 60, "PhoneNumberPoolCountries": ["US", "CA"]}).encode()


def cpu_seconds(pid: int) -> float | None:
    """CPU time a process has used so far (Linux /proc), or None where that cannot be read."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    # After the command name: state is field 3, utime and stime are fields 14 and 15.
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def drive(url: str, requests: int, concurrency: int, connectors: int) -> tuple[float, list[float]]:
    """Send ``requests`` puts from ``concurrency`` workers; return elapsed seconds and each latency."""
    headers = {
        "Authorization": FAKE_AUTH,
        "Content-Type": "application/json",
        "X-Amz-Date": "20240101T000000Z",
    }
    latencies: list[float] = []
    statuses: dict[int, int] = {}
    remaining = iter(range(requests))
    connector = aiohttp.TCPConnector(limit=concurrency)
    async with aiohttp.ClientSession(connector=connector, headers=headers) as session:

        async def worker() -> None:
            for n in remaining:
                path = f"{url}/voice-connectors/vc-{n % connectors}/programmable-numbers/proxy"
                started = time.perf_counter()
                async with session.put(path, data=BODY) as response:
                    await response.read()
                latencies.append(time.perf_counter() - started)
                statuses[response.status] = statuses.get(response.status, 0) + 1

        started = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        elapsed = time.perf_counter() - started
    if set(statuses) != {200}:
        raise RuntimeError(f"unexpected statuses: {statuses}")
    return elapsed, latencies


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--requests", type=int, default=30_000)
    parser.add_argument("--concurrency", type=int, default=64)
    parser.add_argument("--connectors", type=int, default=1000)
    args = parser.parse_args()
    with spawn("--auto-create", "--seed", "1") as child:
        url, pid = child.url, child.pid
        # A short warm-up so connection set-up and first-use connector creation are not measured.
        asyncio.run(drive(url, min(2000, args.requests), args.concurrency, args.connectors))
        cpu_before = cpu_seconds(pid)
        elapsed, latencies = asyncio.run(drive(url, args.requests, args.concurrency, args.connectors))
        cpu_after = cpu_seconds(pid)
    cuts = statistics.quantiles(latencies, n=100)
    rows = [
        ("requests", f"{args.requests}"),
        ("concurrency", f"{args.concurrency}"),
        ("seconds", f"{elapsed:.2f}"),
        ("req/s", f"{args.requests / elapsed:,.0f}"),
        ("p50 ms", f"{cuts[49] * 1000:.1f}"),
        ("p99 ms", f"{cuts[98] * 1000:.1f}"),
    ]
    if cpu_before is not None and cpu_after is not None and cpu_after > cpu_before:
        # Client and emulator share the machine; requests per emulator CPU-second is what the
        # emulator could serve with a core to itself, and does not depend on what else runs.
        used = cpu_after - cpu_before
        rows += [("server CPU s", f"{used:.2f}"), ("req/CPU-s", f"{args.requests / used:,.0f}")]
    rows.append(("load avg", f"{os.getloadavg()[0]:.2f}"))
    for name, value in rows:
        print(f"{name:<12} {value:>10}")


if __name__ == "__main__":
    main()
