"""The emulator's own HTTP endpoints, under ``/_emulator/`` where no AWS path can be.

    GET    /_emulator/stats        counters (``?arrivals=1[&since=T]`` adds every kept arrival)
                                   and the peak of requests served at once (``peak_in_flight``)
    DELETE /_emulator/stats        zero the counters (between benchmark phases)
    GET    /_emulator/state        {"regions": the default account's region → connector → settings,
                                    "accounts": account → region → connector → settings, "dials"}
    POST   /_emulator/config       change dials: rate, burst, region, region_rates, faults, latency,
                                   retry_after, auto_create, denied_access_keys, sts_denied_accounts,
                                   sts_denied_roles
                                   (lists, replacing), sts_throttle, sts_failures (counts of
                                   the next AssumeRole calls answered 400 Throttling / 503
                                   ServiceUnavailable), sts_latency, credential_lifetime (seconds or
                                   null), expire_credentials (true: every issued key expires now),
                                   absent_answers ({"Termination": "empty"}: how a Get of a
                                   setting never put answers; not-found | empty | defaults)
    POST   /_emulator/connectors   create connectors: {"connectors": [{"VoiceConnectorId", "Region"?,
                                   "AccountId"?, "<setting member>"?: {...}}]}; a setting given
                                   (e.g. "Termination") is stored as if put, checked by the model

They need no authentication: they exist for the tests and benchmarks on the same machine.
"""

from __future__ import annotations

import json
import math
import re
import uuid
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from aiohttp import web

from batchproxy.emulator.config import check_lifetime, check_rate, parse_duration, parse_faults
from batchproxy.emulator.protocol import render_output
from batchproxy.emulator.settings import parse_absent_answers, settings

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
        return _json(
            {
                "regions": emulator.state.dump(),
                "accounts": emulator.accounts.dump(),
                "dials": describe(emulator),
            }
        )

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
        **emulator.sts.describe(),
        "absent_answers": {
            setting.key: emulator.absent_answers.get(setting.key, setting.absent) for setting in settings()
        },
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
    if "absent_answers" in body:
        emulator.absent_answers.update(parse_absent_answers(dict(body["absent_answers"])))
    if (denied := _strings(body, "denied_access_keys")) is not None:
        # Revoking a key mid-run (a client's breaker must notice credentials that stop working).
        emulator.config = replace(emulator.config, denied_access_keys=frozenset(denied))
    _apply_sts(emulator, body)


def _apply_sts(emulator: Emulator, body: dict[str, Any]) -> None:
    dials = emulator.sts
    # Check every value before changing any, so a bad request changes nothing.
    accounts = _strings(body, "sts_denied_accounts")
    roles = _strings(body, "sts_denied_roles")
    throttle = _count(body, "sts_throttle")
    failures = _count(body, "sts_failures")
    latency = body.get("sts_latency")
    if latency is not None:
        latency = parse_duration(latency) if isinstance(latency, str) else float(latency)
        if latency < 0 or not math.isfinite(latency):
            raise ValueError("sts_latency must be a finite number of seconds >= 0")
    lifetime = body.get("credential_lifetime")
    lifetime = None if lifetime is None else float(lifetime)
    check_lifetime(lifetime)
    if accounts is not None:
        dials.denied_accounts = accounts
    if roles is not None:
        dials.denied_roles = roles
    if throttle is not None:
        dials.throttle = throttle
    if failures is not None:
        dials.failures = failures
    if latency is not None:
        dials.latency = latency
    if "credential_lifetime" in body:
        dials.credential_lifetime = lifetime
    if body.get("expire_credentials"):
        emulator.sessions.expire_all()


def _count(body: dict[str, Any], key: str) -> int | None:
    if key not in body:
        return None
    count = int(body[key])
    if count < 0:
        raise ValueError(f"{key} must be >= 0")
    return count


def _strings(body: dict[str, Any], key: str) -> set[str] | None:
    if key not in body:
        return None
    value = body[key]
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise TypeError(f"{key} must be a list of strings")
    return set(value)


def seed_connectors(emulator: Emulator, body: dict[str, Any]) -> int:
    """Create the listed connectors (in ``AccountId``, default: the default account) with settings.

    A missing ``Region`` means the configured default region. Every entry is checked before any
    is created, so a bad one creates nothing.
    """
    entries = body.get("connectors")
    if not isinstance(entries, list):
        raise ValueError('expected {"connectors": [{"VoiceConnectorId": ..., "Region": ...}, ...]}')
    for number, entry in enumerate(entries):
        _check_seed(number, entry)
    for entry in entries:
        region = str(entry.get("Region") or emulator.config.default_region)
        state = emulator.accounts.get(str(entry["AccountId"])) if entry.get("AccountId") else emulator.state
        connector = state.add_connector(region, str(entry["VoiceConnectorId"]))
        for setting in settings():
            if entry.get(setting.key) is not None:
                stored = setting.normalise(entry[setting.key])
                connector.settings[setting.key] = render_output(setting.shape, stored)
    return len(entries)


def _check_seed(number: int, entry: Any) -> None:
    if not isinstance(entry, dict) or not str(entry.get("VoiceConnectorId") or "").strip():
        raise ValueError("every connector needs a VoiceConnectorId")
    account = entry.get("AccountId")
    if account is not None and not (isinstance(account, str) and re.fullmatch(r"\d{12}", account)):
        raise ValueError(f"connectors[{number}].AccountId must be 12 digits")
    for setting in settings():
        value = entry.get(setting.key)
        if value is None:
            continue
        problems = setting.validate(value) if isinstance(value, dict) else [("", "must be an object")]
        if problems:
            path, problem = problems[0]
            raise ValueError(f"connectors[{number}].{setting.key}{'.' if path else ''}{path} {problem}")


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
