"""Removing credentials from any text, wherever it is about to go: logs, results, reports, plans.

When AWS refuses a signature it quotes the canonical request it expected, session token included, and
that message travels into logs and into the results file. Looking for secrets by their shape alone
misses them (a session token has no fixed length), so ``redact_secrets`` removes, in this order:

1. the exact secrets this run knows: every secret key and session token the clients layer obtained is
   registered with ``register_secret`` (also assumed-role ones, as they arrive), and each is removed
   wherever it appears, also percent-encoded — the most robust rule, as it needs no guessing;
2. values by context: what follows ``x-amz-security-token:``, ``X-Amz-Security-Token=``,
   ``SessionToken``, ``aws_session_token``, ``aws_secret_access_key``, ``Authorization:``,
   ``Signature=``, ``Credential=`` … (canonical-request lines are ``header:value``);
3. values by shape: a standalone 40-character secret key, a session token's known prefixes, and any
   run of 100 or more base64 characters (no message of the service has one otherwise).

Phone numbers are not secrets in this sense; the log processor blanks those separately.
"""

from __future__ import annotations

import re
import threading
from urllib.parse import quote

__all__ = ["MIN_SECRET_LENGTH", "REDACTED", "redact_secrets", "register_secret", "registered_count"]

REDACTED = "[redacted]"
# A value shorter than this is not a credential (secret keys are 40 characters, session tokens hundreds);
# registering one would blank every occurrence of an ordinary word.
MIN_SECRET_LENGTH = 8
# How many registered forms a regex alternation handles before a dict scan is faster (see _Registry).
_REGEX_UP_TO = 24

# Names whose value is a secret, as a header, a query parameter, an ini key or a JSON member.
_NAMES = (
    r"x-amz-security-token|x-amz-signature|x-amz-credential|aws_session_token|aws_secret_access_key"
    r"|session_?token|secret_?access_?key|secret_?key|signature|credential|password"
)
# name, then ``:`` or ``=`` (a quote or spaces around it allowed), then the value up to a separator.
_NAMED_VALUE = re.compile(rf"""(?ix)(?<![\w-])((?:{_NAMES})["']?\s*[:=]\s*["']?)([^\s"'&,;<>]+)""")
# An Authorization header carries several secrets separated by spaces and commas: take the whole line.
_AUTHORIZATION = re.compile(r"(?im)((?<![\w-])authorization[\"']?\s*[:=]\s*)[^\r\n]+")
# The same members in an XML body (STS answers in XML).
_XML_VALUE = re.compile(r"(?i)(<(?:SessionToken|SecretAccessKey)>)[^<]*")
# Secret access key: exactly 40 base64 characters standing alone, with upper, lower and a digit (paths
# and words of 40 letters are not secrets).
_SECRET_KEY = re.compile(
    r"(?<![A-Za-z0-9/+=])(?=[A-Za-z0-9/+=]{0,39}[A-Z])(?=[A-Za-z0-9/+=]{0,39}[a-z])"
    r"(?=[A-Za-z0-9/+=]{0,39}[0-9])[A-Za-z0-9/+=]{40}(?![A-Za-z0-9/+=])"
)
# Session tokens: their usual beginnings (whatever follows), and any long base64 run.
_TOKEN = re.compile(r"(?:IQoJb3JpZ2luX2Vj|FwoGZXIvYXdzE|AQoDYXdzE)[A-Za-z0-9/+=%]*|[A-Za-z0-9/+]{100,}={0,2}")


class _Registry:
    """The secrets this process holds, and how to find them in a text quickly however many there are.

    A regex alternation of literals tries every alternative at every position, so its cost grows with
    the number of secrets: fine for one profile's two, 14 ms per kB of text with a thousand (hundreds of
    assumed roles). Beyond ``_REGEX_UP_TO`` forms the text is scanned once instead, looking each
    position's first ``MIN_SECRET_LENGTH`` characters up in a dict: about 0.2 ms per kB, whatever the count.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._secrets: set[str] = set()
        self._forms: set[str] = set()  # every secret as is and percent-encoded
        self.pattern: re.Pattern[str] | None = None  # few secrets: every form, longest first
        self.by_prefix: dict[str, tuple[str, ...]] = {}  # many: forms by their first characters

    def add(self, value: str) -> None:
        with self._lock:
            if value in self._secrets:
                return
            self._secrets.add(value)
            # Only the new secret's forms are made: with a thousand assumed roles refreshed, making
            # every secret's again on each add cost seconds (quadratic in the number of secrets).
            new = {value, quote(value, safe=""), quote(value)} - self._forms
            self._forms |= new
            if len(self._forms) <= _REGEX_UP_TO:
                # Longest first, so a secret that contains another is removed whole.
                ordered = sorted(self._forms, key=len, reverse=True)
                self.pattern = re.compile("|".join(re.escape(form) for form in ordered))
                return
            # A new dict each time (a copy is cheap next to a scan): a reader keeps the one it took.
            by_prefix = {} if self.pattern is not None else dict(self.by_prefix)
            for form in new if self.pattern is None else self._forms:
                group = (*by_prefix.get(form[:MIN_SECRET_LENGTH], ()), form)
                by_prefix[form[:MIN_SECRET_LENGTH]] = tuple(sorted(group, key=len, reverse=True))
            self.by_prefix = by_prefix
            self.pattern = None

    def remove_from(self, text: str) -> str:
        pattern, by_prefix = self.pattern, self.by_prefix  # read once: ``add`` may swap them
        if pattern is not None:
            return pattern.sub(REDACTED, text)
        if by_prefix:
            return _scan_out(text, by_prefix)
        return text

    def clear(self) -> None:
        with self._lock:
            self._secrets.clear()
            self._forms.clear()
            self.pattern = None
            self.by_prefix = {}

    def __len__(self) -> int:
        return len(self._secrets)


def _scan_out(text: str, by_prefix: dict[str, tuple[str, ...]]) -> str:
    """Replace every occurrence of a form, leftmost first and longest at each position (as the regex)."""
    pieces: list[str] = []
    position = kept_from = 0
    last = len(text) - MIN_SECRET_LENGTH
    while position <= last:
        for form in by_prefix.get(text[position : position + MIN_SECRET_LENGTH], ()):
            if text.startswith(form, position):
                pieces += (text[kept_from:position], REDACTED)
                position = kept_from = position + len(form)
                break
        else:
            position += 1
    pieces.append(text[kept_from:])
    return "".join(pieces)


_REGISTRY = _Registry()


def register_secret(value: str | None) -> None:
    """Remember a credential this run holds, so ``redact_secrets`` removes it from any text.

    Call it with every secret access key and session token obtained (static, from a profile, from an
    assumed role, after each refresh). Empty and too-short values are ignored; registering twice is free.
    """
    if value and len(value) >= MIN_SECRET_LENGTH:
        _REGISTRY.add(value)


def registered_count() -> int:
    """How many secrets are registered (for diagnostics and tests)."""
    return len(_REGISTRY)


def forget_secrets() -> None:
    """Drop every registered secret: for tests, which must not leak secrets into each other."""
    _REGISTRY.clear()


def redact_secrets(text: str) -> str:
    """``text`` without any credential: the registered secrets, then values by context and by shape."""
    text = _REGISTRY.remove_from(text)
    text = _AUTHORIZATION.sub(lambda m: m.group(1) + REDACTED, text)
    text = _NAMED_VALUE.sub(lambda m: m.group(1) + REDACTED, text)
    text = _XML_VALUE.sub(lambda m: m.group(1) + REDACTED, text)
    text = _TOKEN.sub(REDACTED, text)
    return _SECRET_KEY.sub(REDACTED, text)
