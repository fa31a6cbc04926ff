"""The running emulator: the aiohttp application, the request path, and ``serve``.

One request goes: route (from the model) → authentication (SigV4 scope) → the region's token bucket
→ latency → fault dice → body and validation → the operation → response. Every response, error or
not, carries a fresh ``x-amzn-RequestId``; every request, answered or dropped, is counted.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
import socket
import struct
import time
import uuid
from collections.abc import AsyncIterator, Mapping
from typing import Any

from aiohttp import web

from batchproxy.emulator import control
from batchproxy.emulator.auth import authenticate
from batchproxy.emulator.config import EmulatorConfig
from batchproxy.emulator.faults import FaultDice, Latency, Throttle, retry_after_header
from batchproxy.emulator.operations import OPERATION_HANDLERS, Context
from batchproxy.emulator.protocol import ApiError, Route, Router, error_body, render_output
from batchproxy.emulator.state import EmulatorState
from batchproxy.emulator.stats import LOST, RESET, Stats

__all__ = ["Emulator", "serve"]

_JSON = "application/json"
# Faults that answer with an error status instead of applying the request.
_FAULT_ERRORS = {
    "429": "ThrottledClientException",
    "500": "ServiceFailureException",
    "503": "ServiceUnavailableException",
}
# Gateway errors have no modeled exception: AWS's front end sends them with a bare message.
_GATEWAY_FAULTS = {"502": "Bad Gateway", "504": "Gateway Timeout"}


class Emulator:
    """One emulator: its state, counters and dials. ``url`` is set once it listens."""

    def __init__(self, config: EmulatorConfig) -> None:
        self.config = config
        self.url = ""
        self.state = EmulatorState(auto_create=config.auto_create, seed=config.seed)
        for region, voice_connector_id in config.connectors:
            self.state.add_connector(region, voice_connector_id)
        self.stats = Stats(capacity=config.stats_capacity)
        self.throttle = Throttle(
            rate=config.rate,
            burst=config.burst,
            region_rates=config.region_rates,
            schedule=config.rate_schedule,
        )
        self.faults = FaultDice(config.faults, config.seed)
        self.latency = Latency(config.latency, config.seed)
        self.retry_after = config.retry_after
        self.router = Router()

    def set_rate(self, rate: float, *, region: str | None = None, burst: int | None = None) -> None:
        """Change the default rate (or one region's) while serving; 0 means unlimited."""
        self.throttle.set_rate(rate, region=region, burst=burst)

    def set_faults(self, faults: Mapping[str, float]) -> None:
        """Replace the fault probabilities (``{"503": 0.05, "reset": 0.01}``) while serving."""
        self.faults.set(faults)

    def set_latency(self, mean_seconds: float) -> None:
        self.latency.mean = mean_seconds

    def application(self) -> web.Application:
        app = web.Application()
        control.add_routes(app, self)
        # Everything else is the AWS API; its routes come from the model, matched by ``Router``.
        app.router.add_route("*", "/{tail:.*}", self._handle)
        return app

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        arrived = time.monotonic()
        matched = self.router.match(request.method, request.rel_url.raw_path)
        if matched is None:
            error = ApiError("UnknownOperationException", f"No operation at {request.method} {request.path}")
            self.stats.record(arrived, "Unknown", str(error.status))
            return _error_response(error)
        route, found = matched
        self.stats.begin()
        try:
            response, outcome = await self._serve(request, route, found)
        except ApiError as error:
            response, outcome = _error_response(error), str(error.status)
        finally:
            self.stats.end()
        self.stats.record(arrived, route.operation, outcome)
        return response

    async def _serve(
        self, request: web.Request, route: Route, found: re.Match[str]
    ) -> tuple[web.StreamResponse, str]:
        config = self.config
        region = authenticate(
            request.headers.get("Authorization"), config.denied_access_keys, config.deny_error
        ).region
        wait = self.throttle.take(region)
        if wait:
            raise ApiError(
                "ThrottledClientException", "Rate exceeded", retry_after_header(self.retry_after, wait)
            )
        delay = self.latency.next()
        if delay:
            await asyncio.sleep(delay)
        fault = self.faults.roll()
        if fault is not None and fault != LOST:
            return _inject(request, fault)
        params = route.params(found, request.query, request.headers, await _read_body(request, route))
        output = OPERATION_HANDLERS[route.operation](
            Context(self.state, region, config.list_page_size), params
        )
        if route.method != "GET":
            self.stats.record_write(route.operation)
        if fault == LOST:
            # The change is applied; the client never learns it: the "unknown outcome" case.
            return _drop(request), LOST
        return _success(route, output), str(route.success_status)


def _headers() -> dict[str, str]:
    return {"x-amzn-RequestId": str(uuid.uuid4())}


def _success(route: Route, output: dict[str, Any] | None) -> web.Response:
    if output is None or route.output_shape is None:
        return web.Response(status=route.success_status, headers=_headers())
    body = json.dumps(render_output(route.output_shape, output)).encode()
    return web.Response(status=route.success_status, body=body, content_type=_JSON, headers=_headers())


def _error_response(error: ApiError) -> web.Response:
    headers = _headers()
    headers["x-amzn-ErrorType"] = error.exception
    headers.update(error.headers)
    body = error_body(error.exception, error.message)
    return web.Response(status=error.status, body=body, content_type=_JSON, headers=headers)


def _inject(request: web.Request, fault: str) -> tuple[web.StreamResponse, str]:
    if fault in _FAULT_ERRORS:
        raise ApiError(_FAULT_ERRORS[fault], f"Injected fault: {fault}")
    if fault in _GATEWAY_FAULTS:
        body = json.dumps({"message": _GATEWAY_FAULTS[fault]}).encode()
        return web.Response(status=int(fault), body=body, content_type=_JSON, headers=_headers()), fault
    return _drop(request), RESET


def _drop(request: web.Request) -> web.Response:
    """Reset the connection (RST, not FIN) so the client sees it dropped without any response."""
    transport = request.transport
    if transport is not None:
        sock = transport.get_extra_info("socket")
        if sock is not None:
            # Linger on with a zero timeout makes close() send RST, as a crashed peer would.
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        transport.abort()
    # aiohttp notices the closed transport and writes nothing of this.
    return web.Response(status=500)


async def _read_body(request: web.Request, route: Route) -> Mapping[str, Any]:
    if not route.has_body:
        return {}
    raw = await request.read()
    if not raw.strip():
        return {}
    try:
        body = json.loads(raw)
    except ValueError:
        raise ApiError("BadRequestException", "Invalid input: the request body is not valid JSON") from None
    if not isinstance(body, dict):
        raise ApiError("BadRequestException", "Invalid input: the request body must be a JSON object")
    return body


@contextlib.asynccontextmanager
async def serve(config: EmulatorConfig | None = None) -> AsyncIterator[Emulator]:
    """Run an emulator in this event loop for the duration of the block; yields it once it listens.

    With the default ``port=0`` the system picks a free port; ``emulator.url`` says which.
    """
    emulator = Emulator(config or EmulatorConfig())
    # No access log: at thousands of requests per second it would cost more than the requests.
    runner = web.AppRunner(
        emulator.application(), access_log=None, handle_signals=False, shutdown_timeout=2.0
    )
    await runner.setup()
    try:
        site = web.TCPSite(runner, emulator.config.host, emulator.config.port, backlog=1024)
        await site.start()
        host, port = runner.addresses[0][:2]
        emulator.url = f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"
        yield emulator
    finally:
        await runner.cleanup()
