"""A tiny Chrome DevTools Protocol client: headless Chromium driven over a loopback websocket.

aiohttp (already a dependency) speaks websockets, so the browser tests need no new package: Chromium is
started with ``--remote-debugging-port=0`` and writes the port it chose into ``DevToolsActivePort`` in
its profile directory. Outside traffic is blocked three ways: every proxied request goes to a closed
loopback port, host names do not resolve, and every request the page makes is recorded so a test can
fail on any that is not the file itself.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import itertools
import os
import shutil
import subprocess
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import aiohttp

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-extensions",
    "--proxy-server=http://127.0.0.1:9",  # port 9 (discard): nothing listens, every proxied request fails
    "--proxy-bypass-list=<-loopback>",
    "--host-resolver-rules=MAP * ~NOTFOUND",
    "--remote-debugging-address=127.0.0.1",
    "--remote-debugging-port=0",
)


class Page:
    """One tab, attached through a flat session; collects console errors and requests as they come."""

    def __init__(self, ws: aiohttp.ClientWebSocketResponse, session: str) -> None:
        self._ws, self._session = ws, session
        self._ids = itertools.count(1000)
        self._waiting: dict[int, asyncio.Future[dict[str, Any]]] = {}
        self._events: dict[str, asyncio.Event] = {}
        self.console_errors: list[str] = []
        self.requests: list[str] = []

    async def call(self, method: str, **params: Any) -> dict[str, Any]:
        ident = next(self._ids)
        future: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self._waiting[ident] = future
        await self._ws.send_json(
            {"id": ident, "method": method, "params": params, "sessionId": self._session}
        )
        return await asyncio.wait_for(future, 30)

    def on_message(self, message: dict[str, Any]) -> None:
        if "id" in message and message["id"] in self._waiting:
            future = self._waiting.pop(message["id"])
            if "error" in message:
                future.set_exception(RuntimeError(f"CDP error: {message['error']}"))
            else:
                future.set_result(message.get("result", {}))
            return
        method, params = message.get("method", ""), message.get("params", {})
        if method == "Network.requestWillBeSent":
            self.requests.append(params["request"]["url"])
        elif method == "Runtime.consoleAPICalled" and params.get("type") in ("error", "assert"):
            self.console_errors.append(str(params.get("args")))
        elif method == "Runtime.exceptionThrown":
            self.console_errors.append(str(params.get("exceptionDetails")))
        elif method == "Log.entryAdded" and params["entry"].get("level") == "error":
            self.console_errors.append(params["entry"].get("text", ""))
        self._events.setdefault(method, asyncio.Event()).set()

    async def open(self, url: str, *, width: int, height: int) -> None:
        for domain in ("Runtime", "Log", "Network", "Page"):
            await self.call(f"{domain}.enable")
        await self.call(
            "Emulation.setDeviceMetricsOverride",
            width=width,
            height=height,
            deviceScaleFactor=1,
            mobile=False,
        )
        loaded = self._events.setdefault("Page.loadEventFired", asyncio.Event())
        loaded.clear()
        await self.call("Page.navigate", url=url)
        await asyncio.wait_for(loaded.wait(), 30)

    async def evaluate(self, expression: str) -> Any:
        result = await self.call("Runtime.evaluate", expression=expression, returnByValue=True)
        if "exceptionDetails" in result:
            raise RuntimeError(f"page script failed: {result['exceptionDetails']}")
        return result["result"].get("value")

    async def screenshot(self) -> bytes:
        """The viewport as PNG bytes."""
        return base64.b64decode((await self.call("Page.captureScreenshot", format="png"))["data"])


@asynccontextmanager
async def chromium(profile: Path) -> AsyncIterator[Page]:
    """Start Chromium with a fresh profile, open one blank tab, stop the browser (by PID) afterwards."""
    process = await asyncio.create_subprocess_exec(
        CHROMIUM, *FLAGS, f"--user-data-dir={profile}", "about:blank",
        stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        endpoint = await _endpoint(profile, process)
        async with aiohttp.ClientSession() as http, http.ws_connect(endpoint, max_msg_size=1 << 27) as ws:
            page = await _attach(ws)
            pump = asyncio.create_task(_pump(ws, page))  # owned here: cancelled and awaited below
            try:
                yield page
            finally:
                pump.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await pump
    finally:
        process.terminate()
        try:
            await asyncio.wait_for(process.wait(), 10)
        except TimeoutError:
            process.kill()
            await asyncio.wait_for(process.wait(), 10)


async def _endpoint(profile: Path, process: asyncio.subprocess.Process) -> str:
    marker = profile / "DevToolsActivePort"
    for _ in range(300):  # 30 s at most
        if marker.exists() and len(lines := marker.read_text().splitlines()) >= 2:
            return f"ws://127.0.0.1:{int(lines[0])}{lines[1]}"
        if process.returncode is not None:
            raise RuntimeError(f"chromium exited with {process.returncode}")
        await asyncio.sleep(0.1)
    raise TimeoutError("chromium did not open its debugging port within 30 s")


async def _attach(ws: aiohttp.ClientWebSocketResponse) -> Page:
    await ws.send_json({"id": 1, "method": "Target.createTarget", "params": {"url": "about:blank"}})
    target = await _reply(ws, 1)
    await ws.send_json(
        {
            "id": 2,
            "method": "Target.attachToTarget",
            "params": {"targetId": target["targetId"], "flatten": True},
        }
    )
    return Page(ws, (await _reply(ws, 2))["sessionId"])


async def _reply(ws: aiohttp.ClientWebSocketResponse, ident: int) -> dict[str, Any]:
    while True:
        message = await asyncio.wait_for(ws.receive_json(), 30)
        if message.get("id") == ident:
            return dict(message["result"])


async def _pump(ws: aiohttp.ClientWebSocketResponse, page: Page) -> None:
    async for message in ws:
        if message.type is aiohttp.WSMsgType.TEXT:
            page.on_message(message.json())


def have_chromium() -> bool:
    return os.access(CHROMIUM, os.X_OK)
