"""Logging, configured once at the entry point: structlog to stderr, console or JSON lines.

Every event passes ``Redact`` before it is rendered, so no code path can log a credential or a value
the API model marks sensitive (``FallBackPhoneNumber``), however it got into the event. Credentials in
free text are removed by ``redact.redact_secrets``, the same function the journal applies to every
text from the service; ``register_secret`` is re-exported here for the clients layer.
"""

from __future__ import annotations

import logging
import re
import sys
from collections.abc import Iterable, Mapping, MutableMapping
from typing import Any, Literal, TextIO, cast

import structlog

from batchproxy.model import sensitive_member_names
from batchproxy.redact import REDACTED, redact_secrets, register_secret
from batchproxy.report.live import LineStream

__all__ = [
    "REDACTED",
    "LogFormat",
    "Redact",
    "RedactingFormatter",
    "configure",
    "get_logger",
    "redact_text",
    "register_secret",
]

LogFormat = Literal["console", "json"]

# Keys that carry secrets in botocore/aiohttp land, matched case-insensitively.
_SECRET_KEYS = frozenset(
    {
        "aws_secret_access_key",
        "aws_session_token",
        "secret_access_key",
        "session_token",
        "secretaccesskey",
        "sessiontoken",
        "authorization",
        "x-amz-security-token",
        "password",
    }
)
# A phone number in free text, e.g. inside a service error message that quotes the request: any run of
# 8 to 15 digits, with or without a leading +, that is not part of a longer word or number.
_PHONE_TEXT = re.compile(r"(?<![\w.+-])\+?[1-9]\d{7,14}(?![\w.-])")
# Values rendered as they are: nothing in them can carry text.
_PLAIN = (bool, int, float, type(None))


def redact_text(text: str) -> str:
    """What a log line may show of ``text``: no credential, no phone number."""
    return _PHONE_TEXT.sub(REDACTED, redact_secrets(text))


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
        if isinstance(value, Mapping):
            return {k: self._clean(str(k), v) for k, v in value.items()}
        if isinstance(value, list | tuple | set | frozenset):
            return [self._clean(key, item) for item in value]
        if isinstance(value, _PLAIN):
            return value
        # Anything else (an exception, a path, a custom object) is rendered by its text: clean that.
        return redact_text(value if isinstance(value, str) else str(value))


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
    # Through LineStream: while the progress display is shown, a log line is printed above it rather
    # than over it (see report/live.py).
    lines = LineStream(out)
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            # A traceback becomes text before Redact sees the event, so that text is cleaned too.
            structlog.processors.format_exc_info,
            Redact(),
            renderer,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(level),
        logger_factory=structlog.PrintLoggerFactory(file=cast(TextIO, lines)),
        cache_logger_on_first_use=False,
    )
    # botocore and aiohttp log through stdlib logging; keep them quiet unless they warn.
    handler = logging.StreamHandler(lines)
    handler.setFormatter(RedactingFormatter("%(levelname)s %(name)s: %(message)s"))
    logging.basicConfig(level=logging.WARNING, handlers=[handler])


class RedactingFormatter(logging.Formatter):
    """Stdlib records (botocore, aiohttp) get the same redaction as our own events."""

    def format(self, record: logging.LogRecord) -> str:
        return redact_text(super().format(record))


def get_logger(name: str) -> Any:
    return structlog.get_logger(name)
