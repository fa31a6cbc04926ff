"""Logging, configured once at the entry point: structlog to stderr, console or JSON lines.

Every event passes ``Redact`` before it is rendered, so no code path can log a credential or a value
the API model marks sensitive (``FallBackPhoneNumber``), however it got into the event.
"""

from __future__ import annotations

import logging
import re
import sys
from collections.abc import Iterable, MutableMapping
from typing import Any, Literal, TextIO

import structlog

from batchproxy.model import sensitive_member_names

__all__ = ["LogFormat", "Redact", "configure", "get_logger"]

LogFormat = Literal["console", "json"]
REDACTED = "[redacted]"

# Keys that carry secrets in botocore/aiohttp land, matched case-insensitively.
_SECRET_KEYS = frozenset(
    {
        "aws_secret_access_key",
        "aws_session_token",
        "secret_access_key",
        "session_token",
        "authorization",
        "x-amz-security-token",
        "password",
    }
)
# An AWS secret key or SigV4 signature that slipped into free text.
_SECRET_TEXT = re.compile(
    r"(Signature=)[0-9a-f]{16,}|(?<![A-Za-z0-9/+=])[A-Za-z0-9/+=]{40}(?![A-Za-z0-9/+=])"
)
# A phone number in free text, e.g. inside a service error message that quotes the request: any run of
# 8 to 15 digits, with or without a leading +, that is not part of a longer word or number.
_PHONE_TEXT = re.compile(r"(?<![\w.+-])\+?[1-9]\d{7,14}(?![\w.-])")


class Redact:
    """A structlog processor that blanks sensitive values, by key and in nested mappings.

    ``keys`` defaults to the model's sensitive members (snake_case spellings included) plus the
    credential names above.
    """

    def __init__(self, keys: Iterable[str] | None = None) -> None:
        names = set(keys) if keys is not None else _default_keys()
        self._keys = frozenset(k.lower() for k in names)

    def __call__(
        self, logger: Any, method: str, event_dict: MutableMapping[str, Any]
    ) -> MutableMapping[str, Any]:
        for key, value in list(event_dict.items()):
            event_dict[key] = self._clean(key, value)
        return event_dict

    def _clean(self, key: str, value: Any) -> Any:
        if key.lower() in self._keys and value not in (None, ""):
            return REDACTED
        if isinstance(value, dict):
            return {k: self._clean(str(k), v) for k, v in value.items()}
        if isinstance(value, str):
            text = _SECRET_TEXT.sub(lambda m: (m.group(1) or "") + REDACTED, value)
            return _PHONE_TEXT.sub(REDACTED, text)
        return value


def _default_keys() -> set[str]:
    keys = set(_SECRET_KEYS)
    for name in sensitive_member_names():
        keys.add(name)
        keys.add(re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower())
    keys.add("fallback_phone_number")
    return keys


def configure(fmt: LogFormat, *, stream: TextIO | None = None, level: int = logging.INFO) -> None:
    """Route structlog to ``stream`` (stderr) in the chosen format. Call once, from the CLI."""
    out = stream if stream is not None else sys.stderr
    renderer: Any = (
        structlog.processors.JSONRenderer()
        if fmt == "json"
        else structlog.dev.ConsoleRenderer(colors=out.isatty())
    )
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            Redact(),
            renderer,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(level),
        logger_factory=structlog.PrintLoggerFactory(file=out),
        cache_logger_on_first_use=False,
    )
    # botocore and aiohttp log through stdlib logging; keep them quiet unless they warn.
    logging.basicConfig(level=logging.WARNING, stream=out, format="%(levelname)s %(name)s: %(message)s")


def get_logger(name: str) -> Any:
    return structlog.get_logger(name)
