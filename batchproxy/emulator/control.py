"""The emulator's own HTTP endpoints, under ``/_emulator/`` where no AWS path can be.

    GET    /_emulator/stats        counters (``?arrivals=1[&since=T]`` adds every kept arrival)
                                   and the peak of requests served at once (``peak_in_flight``)
    DELETE /_emulator/stats        zero the counters (between benchmark phases)
    GET    /_emulator/state        connectors and proxies, per region
    POST   /_emulator/config       change dials: rate, burst, region, region_rates, faults, latency,
                                   retry_after, auto_create
    POST   /_emulator/connectors   create connectors: {"connectors": [{"VoiceConnectorId", "Region"?}]}

They need no authentication: they exist for the tests and benchmarks on the same machine.
"""

from __future__ import annotations

import json
import uuid
from typing import TYPE_CHECKING, Any

from aiohttp import web

from batchproxy.emulator.config import check_rate, parse_duration, parse_faults

if TYPE_CHECKING:
    from batchproxy.emulator.app import Emulator

__all__ = ["PREFIX", "add_routes"]

PREFIX = "/_emulator"


def _json(body: Any, status: int = 200) -> web.Response:
    return web.json_response(body, status=status, headers={"x-amzn-RequestId": str(uuid.uuid4())})


def add_routes(app: web.Application, emulator: Emulator) -> None:
    async def get_stats(request: web.Request) -> web.Response:
        with_arrivals = request.query.get("arrivals") in ("1", "true")
        try:
            since = _float(request.query.get("since"))
        except ValueError:
            return _json({"error": "since must be a number (time.monotonic() seconds)"}, status=400)
        return _json(emulator.stats.to_json(with_arrivals=with_arrivals, since=since))

    async def reset_stats(request: web.Request) -> web.Response:
        emulator.stats.reset()
        return _json({"reset": True})

    async def get_state(request: web.Request) -> web.Response:
        return _json({"regions": emulator.state.dump(), "dials": describe(emulator)})

    async def post_config(request: web.Request) -> web.Response:
        try:
            apply_config(emulator, await _object(request))
        except (ValueError, TypeError) as error:
            return _json({"error": str(error)}, status=400)
        return _json(describe(emulator))

    async def post_connectors(request: web.Request) -> web.Response:
        try:
            created = seed_connectors(emulator, await _object(request))
        except (ValueError, TypeError) as error:
            return _json({"error": str(error)}, status=400)
        return _json({"created": created})

    app.router.add_get(f"{PREFIX}/stats", get_stats)
    app.router.add_delete(f"{PREFIX}/stats", reset_stats)
    app.router.add_get(f"{PREFIX}/state", get_state)
    app.router.add_post(f"{PREFIX}/config", post_config)
    app.router.add_post(f"{PREFIX}/connectors", post_connectors)


def describe(emulator: Emulator) -> dict[str, Any]:
    """The dials as they are now."""
    return {
        **emulator.throttle.describe(),
        "faults": emulator.faults.faults,
        "latency": emulator.latency.mean,
        "retry_after": emulator.retry_after,
        "auto_create": emulator.state.auto_create,
    }


def apply_config(emulator: Emulator, body: dict[str, Any]) -> None:
    """Apply the dials present in ``body``; absent ones keep their value."""
    if "rate" in body or "burst" in body:
        rate = float(body.get("rate", emulator.throttle.rate_for(body.get("region") or "")))
        check_rate(rate)
        burst = body.get("burst")
        emulator.set_rate(rate, region=body.get("region"), burst=None if burst is None else int(burst))
    for region, rate in dict(body.get("region_rates", {})).items():
        emulator.set_rate(float(rate), region=str(region))
    if "faults" in body:
        faults = body["faults"]
        emulator.set_faults(
            parse_faults(faults) if isinstance(faults, str) else {k: float(v) for k, v in faults.items()}
        )
    if "latency" in body:
        latency = body["latency"]
        emulator.set_latency(parse_duration(latency) if isinstance(latency, str) else float(latency))
    if "retry_after" in body:
        emulator.retry_after = None if body["retry_after"] is None else int(body["retry_after"])
    if "auto_create" in body:
        emulator.state.auto_create = bool(body["auto_create"])


def seed_connectors(emulator: Emulator, body: dict[str, Any]) -> int:
    """Create the listed connectors; a missing ``Region`` means the configured default region."""
    entries = body.get("connectors")
    if not isinstance(entries, list):
        raise ValueError('expected {"connectors": [{"VoiceConnectorId": ..., "Region": ...}, ...]}')
    for entry in entries:
        if not isinstance(entry, dict) or not str(entry.get("VoiceConnectorId") or "").strip():
            raise ValueError("every connector needs a VoiceConnectorId")
    for entry in entries:
        region = entry.get("Region") or emulator.config.default_region
        emulator.state.add_connector(str(region), str(entry["VoiceConnectorId"]))
    return len(entries)


async def _object(request: web.Request) -> dict[str, Any]:
    try:
        body = json.loads(await request.read() or b"{}")
    except ValueError as error:
        raise ValueError(f"the body is not valid JSON: {error}") from None
    if not isinstance(body, dict):
        raise TypeError("the body must be a JSON object")
    return body


def _float(text: str | None) -> float | None:
    return None if text is None else float(text)
