"""The running emulator: the aiohttp application, the request path, and ``serve``.

One request goes: route (from the model) → authentication (SigV4 scope; a temporary key picks its
account) → the account+region's token bucket → latency → fault dice → body and validation → the
operation → response. ``POST /`` with a form body or an ``sts`` scope is STS ``AssumeRole`` instead
(``sts``). Every response, error or not, unmatched paths included, is AWS-shaped and carries a fresh
``x-amzn-RequestId``; every request, answered or dropped, is counted.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import re
import socket
import struct
import time
import uuid
from collections.abc import AsyncIterator, Mapping
from typing import Any

from aiohttp import web

from batchproxy.emulator import control, sts
from batchproxy.emulator.accounts import Accounts
from batchproxy.emulator.auth import authenticate, credential_scope
from batchproxy.emulator.config import EmulatorConfig
from batchproxy.emulator.faults import FaultDice, Latency, Throttle, retry_after_header
from batchproxy.emulator.operations import OPERATION_HANDLERS, Context
from batchproxy.emulator.protocol import ApiError, Route, Router, error_body, render_output
from batchproxy.emulator.sessions import ExpiredToken, InvalidToken, Sessions
from batchproxy.emulator.settings import parse_absent_answers
from batchproxy.emulator.state import EmulatorState
from batchproxy.emulator.stats import LOST, RESET, Stats

__all__ = ["Emulator", "serve"]

_log = logging.getLogger(__name__)
_FORM = "application/x-www-form-urlencoded"

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
        self.accounts = Accounts(auto_create=config.auto_create, seed=config.seed)
        # The default account: requests signed with ordinary keys, and every test written before accounts.
        self.state: EmulatorState = self.accounts.default
        for region, voice_connector_id in config.connectors:
            self.state.add_connector(region, voice_connector_id)
        for account_id, region, voice_connector_id in config.account_connectors:
            self.accounts.get(account_id).add_connector(region, voice_connector_id)
        self.absent_answers = parse_absent_answers(config.absent_answers)
        self.sessions = Sessions()
        self.sts = sts.StsDials(
            denied_accounts=set(config.sts_denied_accounts),
            denied_roles=set(config.sts_denied_roles),
            throttle=config.sts_throttle,
            failures=config.sts_failures,
            latency=config.sts_latency,
            credential_lifetime=config.credential_lifetime,
        )
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

    def account(self, account_id: str) -> EmulatorState:
        """One account's connectors and settings (an empty state for an account never seen)."""
        return self.accounts.get(account_id)

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
        # Everything else is the AWS API; its routes come from the model, matched by ``Router``. The
        # catch-all must match any path, line feeds included, so that no answer is aiohttp's bare 404.
        app.router.add_route("*", r"/{tail:[\s\S]*}", self._handle)
        return app

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        arrived = time.monotonic()
        if request.method == "POST" and request.rel_url.raw_path == "/" and _is_sts(request):
            return await self._handle_sts(request, arrived)
        matched = self.router.match(request.method, request.rel_url.raw_path)
        if matched is None:
            error = ApiError(
                "UnknownOperationException", f"No operation at {request.method} {request.path!r}"
            )
            self.stats.record(arrived, "Unknown", str(error.status))
            return _error_response(error)
        route, found = matched
        self.stats.begin()
        try:
            response, outcome = await self._serve(request, route, found)
        except Exception as exc:  # every failure answers as AWS would, never as a bare text page
            error = _as_api_error(exc, route.operation)
            response, outcome = _error_response(error), str(error.status)
        finally:
            self.stats.end()
        self.stats.record(arrived, route.operation, outcome)
        return response

    async def _handle_sts(self, request: web.Request, arrived: float) -> web.Response:
        headers = _headers()
        request_id = headers["x-amzn-RequestId"]
        form: dict[str, str] = {}
        try:
            form = {key: str(value) for key, value in (await request.post()).items()}
            if form.get("RoleArn") is not None:
                self.stats.assume_role_requests[form["RoleArn"]] += 1
            self._sts_caller(request)
            if self.sts.latency:
                await asyncio.sleep(self.sts.latency)
            session = sts.assume_role(form, self.sts, self.sessions)
        except Exception as exc:  # every failure is an ErrorResponse document
            error = exc if isinstance(exc, sts.StsError) else _as_sts_error(exc)
            self.stats.record(arrived, sts.ASSUME_ROLE, str(error.status))
            body = sts.error_document(error, request_id)
            return web.Response(status=error.status, body=body, content_type="text/xml", headers=headers)
        self.stats.assume_role_granted[session.role_arn] += 1
        self.stats.record(arrived, sts.ASSUME_ROLE, "200")
        body = sts.success_document(session, form.get("RoleSessionName", ""), request_id)
        return web.Response(body=body, content_type="text/xml", headers=headers)

    def _sts_caller(self, request: web.Request) -> None:
        """Refuse an STS request as STS would: no or bad signature, a denied key, an expired session."""
        try:
            caller = credential_scope(request.headers.get("Authorization"))
        except ApiError as error:
            raise sts.StsError(
                error.status, error.exception.removesuffix("Exception"), error.message
            ) from None
        if caller.service != "sts":
            raise sts.StsError(
                403, "SignatureDoesNotMatch", "Credential should be scoped to correct service: 'sts'."
            )
        if caller.access_key_id in self.config.denied_access_keys:
            raise sts.StsError(403, "AccessDenied", f"Access key {caller.access_key_id} is not allowed.")
        try:
            self.sessions.account_of(caller.access_key_id, request.headers.get("X-Amz-Security-Token"))
        except ExpiredToken:
            raise sts.StsError(
                400, "ExpiredTokenException", "The security token included in the request is expired"
            ) from None
        except InvalidToken:
            raise sts.StsError(
                403, "InvalidClientTokenId", "The security token included in the request is invalid."
            ) from None

    def _account_state(self, request: web.Request, access_key_id: str) -> EmulatorState:
        """The state a request reaches: its temporary key's account, else the default account."""
        try:
            account = self.sessions.account_of(access_key_id, request.headers.get("X-Amz-Security-Token"))
        except ExpiredToken:
            raise ApiError(
                "ExpiredTokenException", "The security token included in the request is expired"
            ) from None
        except InvalidToken:
            raise ApiError(
                "UnrecognizedClientException", "The security token included in the request is invalid."
            ) from None
        return self.state if account is None else self.accounts.get(account)

    async def _serve(
        self, request: web.Request, route: Route, found: re.Match[str]
    ) -> tuple[web.StreamResponse, str]:
        config = self.config
        caller = authenticate(
            request.headers.get("Authorization"), config.denied_access_keys, config.deny_error
        )
        region = caller.region
        state = self._account_state(request, caller.access_key_id)
        wait = self.throttle.take(region, state.account_id)
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
        context = Context(state, region, config.list_page_size, self.absent_answers)
        output = OPERATION_HANDLERS[route.operation](context, params)
        if route.method != "GET":
            self.stats.record_write(route.operation, state.account_id)
        if fault == LOST:
            # The change is applied; the client never learns it: the "unknown outcome" case.
            return _drop(request), LOST
        return _success(route, output), str(route.success_status)


def _as_api_error(exc: Exception, operation: str) -> ApiError:
    """The error response for whatever stopped a request (call inside ``except``)."""
    if isinstance(exc, ApiError):
        return exc
    if isinstance(exc, web.HTTPRequestEntityTooLarge):
        return ApiError("RequestEntityTooLargeException", "The request body is too large")
    # A bug of ours: logged with its traceback, answered as the service's own failure (a 500).
    _log.exception("emulator: %s failed", operation)
    return ApiError("ServiceFailureException", "The emulator failed to serve the request")


def _as_sts_error(exc: Exception) -> sts.StsError:
    if isinstance(exc, web.HTTPRequestEntityTooLarge):
        return sts.StsError(413, "RequestEntityTooLarge", "The request body is too large")
    _log.exception("emulator: AssumeRole failed")
    return sts.StsError(500, "InternalFailure", "The emulator failed to serve the request")


def _is_sts(request: web.Request) -> bool:
    """STS speaks the query protocol: a form body, signed for ``sts``; no Chime operation is ``POST /``."""
    if request.content_type == _FORM:
        return True
    return "/sts/aws4_request" in request.headers.get("Authorization", "")


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
