"""The interface every operation module implements."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol

from batchproxy.rows import Row

__all__ = ["Applied", "Caller", "Operation"]


class Caller(Protocol):
    """Sends one API request (a botocore client method name and its parameters) for the current row.

    Rate limiting, attempt counting and retries happen inside; what comes back is the parsed response,
    or ``errors.CallFailed`` once the policy gives up.
    """

    async def __call__(self, method: str, **params: Any) -> dict[str, Any]: ...


@dataclass(frozen=True, slots=True, kw_only=True)
class Applied:
    """A row's successful end, and the operation-specific columns it adds to the results file."""

    extra: dict[str, str] = field(default_factory=dict)


class Operation(Protocol):
    """What to do with one row. Implementations are small frozen dataclasses."""

    @property
    def name(self) -> str:
        """The API operation, as shown in logs and the summary."""
        ...

    @property
    def needs_settings(self) -> bool:
        """Whether input rows must carry proxy settings (put) or only a target (delete, plan reads)."""
        ...

    @property
    def writes(self) -> bool:
        """False for read-only operations (plan): they may never change a connector."""
        ...

    async def apply(self, row: Row, call: Caller) -> Applied: ...
