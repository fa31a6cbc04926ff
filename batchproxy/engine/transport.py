"""The send seam: one API request on the wire, and nothing else.

``caller`` (rate permits, attempt counting, retries, the error boundary) talks to a ``Send`` and never
to an SDK client. In production a ``ClientSend`` wraps one aioboto3 client; tests of the engine swap in
a ``Send`` of their own (as httpx's ``MockTransport`` stands in for its network transport), while the
end-to-end tests keep the real client against the emulator.
"""

from __future__ import annotations

from typing import Any, Protocol

__all__ = ["ClientSend", "Send"]


class Send(Protocol):
    """Send one request: a botocore method name and its parameters; the parsed response comes back.

    Failures are raised as the library raises them (botocore ``ClientError``, aiohttp errors...):
    ``errors.translate`` turns them into ours in one place, in ``caller``.
    """

    async def __call__(self, method: str, params: dict[str, Any]) -> dict[str, Any]: ...


class ClientSend:
    """A ``Send`` over an aioboto3 client (``chime-sdk-voice``)."""

    __slots__ = ("_client",)

    def __init__(self, client: Any) -> None:
        self._client = client

    async def __call__(self, method: str, params: dict[str, Any]) -> dict[str, Any]:
        response: dict[str, Any] = await getattr(self._client, method)(**params)
        return response
