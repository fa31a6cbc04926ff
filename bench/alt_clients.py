"""The alternatives to batchproxy that ``compare.py`` measures, each run as its own process.

    python bench/alt_clients.py aioboto3|boto3|aiohttp --url URL --input CSV --concurrency N --out JSON

* ``aioboto3``: the loop most people write first — ``asyncio.gather`` over every row, a semaphore of
  N, botocore's default (legacy) retry mode.
* ``boto3``: a ThreadPoolExecutor of N threads sharing one client in ``adaptive`` retry mode (the
  mode botocore documents for client-side rate limiting).
* ``aiohttp``: no SDK at all — a fake but well-formed SigV4 header (the emulator checks only its
  shape), 429/5xx and connection errors retried up to 8 attempts with full-jitter backoff. No Python
  client can send these requests for less, so it is the ceiling.

Each reads the same CSV (no validation: that is batchproxy's extra work), records every row's time
from its first request to its final outcome, and writes ``{"ok", "failed", "errors", "latencies_ms"}``.
Requests on the wire are counted by the emulator, not here.
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import json
import random
import time
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

REGION = "us-east-1"
FAKE_AUTH = (
    f"AWS4-HMAC-SHA256 Credential=AKIDBENCHBATCHPROXY1/20240101/{REGION}/chime/aws4_request, "
    "SignedHeaders=content-type;host;x-amz-date, Signature=" + "0" * 64
)
MAX_ATTEMPTS = 8  # the raw client's budget, as batchproxy's default


def read_requests(path: Path) -> list[dict[str, Any]]:
    """Each row as PutVoiceConnectorProxy parameters."""
    requests = []
    with path.open(encoding="utf-8", newline="") as stream:
        for row in csv.DictReader(stream):
            params: dict[str, Any] = {
                "VoiceConnectorId": row["VoiceConnectorId"],
                "DefaultSessionExpiryMinutes": int(row["DefaultSessionExpiryMinutes"]),
                "PhoneNumberPoolCountries": row["PhoneNumberPoolCountries"].split(";"),
            }
            if row["FallBackPhoneNumber"]:
                params["FallBackPhoneNumber"] = row["FallBackPhoneNumber"]
            if row["Disabled"]:
                params["Disabled"] = row["Disabled"] == "true"
            requests.append(params)
    return requests


class Tally:
    """Per-row outcomes and times."""

    def __init__(self) -> None:
        self.ok = 0
        self.errors: Counter[str] = Counter()
        self.latencies_ms: list[float] = []

    def done(self, started: float, error: str | None) -> None:
        self.latencies_ms.append((time.perf_counter() - started) * 1000)
        if error is None:
            self.ok += 1
        else:
            self.errors[error] += 1

    def to_json(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "failed": sum(self.errors.values()),
            "errors": dict(self.errors),
            "latencies_ms": [round(ms, 2) for ms in self.latencies_ms],
        }


def _error_code(exc: Exception) -> str:
    response = getattr(exc, "response", None)
    if isinstance(response, dict):
        return str(response.get("Error", {}).get("Code") or type(exc).__name__)
    return type(exc).__name__


async def run_aioboto3(url: str, requests: list[dict[str, Any]], concurrency: int, tally: Tally) -> None:
    import aioboto3  # noqa: PLC0415 -- each client imports only its own SDK, so RSS is its own
    from aiobotocore.config import AioConfig  # noqa: PLC0415

    config = AioConfig(retries={"mode": "legacy"}, max_pool_connections=concurrency)
    session = aioboto3.Session()
    limit = asyncio.Semaphore(concurrency)
    async with session.client("chime-sdk-voice", endpoint_url=url, region_name=REGION, config=config) as c:

        async def put(params: dict[str, Any]) -> None:
            async with limit:
                started = time.perf_counter()
                try:
                    await c.put_voice_connector_proxy(**params)
                except Exception as exc:
                    tally.done(started, _error_code(exc))
                else:
                    tally.done(started, None)

        await asyncio.gather(*(put(params) for params in requests))


def run_boto3(url: str, requests: list[dict[str, Any]], concurrency: int, tally: Tally) -> None:
    import boto3  # noqa: PLC0415
    from botocore.config import Config  # noqa: PLC0415

    config = Config(retries={"mode": "adaptive"}, max_pool_connections=concurrency)
    client = boto3.client("chime-sdk-voice", endpoint_url=url, region_name=REGION, config=config)

    def put(params: dict[str, Any]) -> None:
        started = time.perf_counter()
        try:
            client.put_voice_connector_proxy(**params)
        except Exception as exc:
            tally.done(started, _error_code(exc))
        else:
            tally.done(started, None)

    with ThreadPoolExecutor(max_workers=concurrency) as pool:
        for _ in pool.map(put, requests):
            pass


async def run_aiohttp(url: str, requests: list[dict[str, Any]], concurrency: int, tally: Tally) -> None:
    import aiohttp  # noqa: PLC0415

    headers = {
        "Authorization": FAKE_AUTH,
        "Content-Type": "application/json",
        "X-Amz-Date": "20240101T000000Z",
    }
    rng = random.Random(1)
    limit = asyncio.Semaphore(concurrency)
    connector = aiohttp.TCPConnector(limit=concurrency)
    timeout = aiohttp.ClientTimeout(total=30)
    async with aiohttp.ClientSession(connector=connector, headers=headers, timeout=timeout) as session:

        async def attempt(path: str, body: bytes) -> str | None:
            """None when accepted; else the error, prefixed 'retry:' when worth another attempt."""
            try:
                async with session.put(path, data=body) as response:
                    await response.read()
                    status = response.status
            except (aiohttp.ClientError, TimeoutError) as exc:
                return f"retry:{type(exc).__name__}"
            if status == 200:
                return None
            return f"retry:{status}" if status == 429 or status >= 500 else str(status)

        async def put(params: dict[str, Any]) -> None:
            connector_id = params.pop("VoiceConnectorId")
            path = f"{url}/voice-connectors/{connector_id}/programmable-numbers/proxy"
            body = json.dumps(params).encode()
            async with limit:
                started = time.perf_counter()
                error: str | None = "none"
                for number in range(1, MAX_ATTEMPTS + 1):
                    error = await attempt(path, body)
                    if error is None or not error.startswith("retry:") or number == MAX_ATTEMPTS:
                        break
                    await asyncio.sleep(rng.uniform(0, min(2.0, 0.05 * 2 ** (number - 1))))
                tally.done(started, None if error is None else error.removeprefix("retry:"))

        await asyncio.gather(*(put(params) for params in requests))


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("client", choices=["aioboto3", "boto3", "aiohttp"])
    parser.add_argument("--url", required=True)
    parser.add_argument("--input", type=Path, required=True)
    parser.add_argument("--concurrency", type=int, required=True)
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()
    requests = read_requests(args.input)
    tally = Tally()
    runners: dict[str, Callable[[], Any]] = {
        "aioboto3": lambda: asyncio.run(run_aioboto3(args.url, requests, args.concurrency, tally)),
        "boto3": lambda: run_boto3(args.url, requests, args.concurrency, tally),
        "aiohttp": lambda: asyncio.run(run_aiohttp(args.url, requests, args.concurrency, tally)),
    }
    runners[args.client]()
    args.out.write_text(json.dumps(tally.to_json()), encoding="utf-8")


if __name__ == "__main__":
    main()
