"""Temporary credentials: which key ``AssumeRole`` handed out belongs to which account, until when.

AWS tells a session's account from its access key and refuses the key once the session expired, or
when the session token sent with it is not the one issued with it. The emulator does the same, so
that a client's per-account credentials and their refresh are exercised for real. The clock (wall
time: expirations are wall-clock instants on the wire) is a parameter, so tests of the arithmetic
need not sleep.
"""

from __future__ import annotations

import secrets
import string
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass

__all__ = ["ExpiredToken", "InvalidToken", "Session", "Sessions"]

Clock = Callable[[], float]
_KEY_ALPHABET = string.ascii_uppercase + string.digits


class ExpiredToken(Exception):
    """The key belongs to a session that expired (or was expired on purpose)."""


class InvalidToken(Exception):
    """The key is a temporary one but the request's session token is missing or not its own."""


@dataclass(slots=True)
class Session:
    """One AssumeRole grant. ``repr`` leaves the secret and the token out: they are never logged."""

    access_key_id: str
    secret_access_key: str
    session_token: str
    account_id: str
    role_arn: str
    expires_at: float  # wall-clock seconds since the epoch

    def __repr__(self) -> str:
        return (
            f"Session(access_key_id={self.access_key_id!r}, account_id={self.account_id!r}, "
            f"role_arn={self.role_arn!r}, expires_at={self.expires_at})"
        )


class Sessions:
    """Every session handed out, by access key id."""

    def __init__(self, clock: Clock = time.time) -> None:
        self._clock = clock
        self._by_key: dict[str, Session] = {}

    def issue(self, account_id: str, role_arn: str, lifetime: float) -> Session:
        """A fresh session for ``account_id`` that stops working ``lifetime`` seconds from now."""
        # ASIA is the prefix AWS gives temporary keys; the rest is random and never repeats in practice.
        key = "ASIA" + "".join(secrets.choice(_KEY_ALPHABET) for _ in range(16))
        session = Session(
            access_key_id=key,
            secret_access_key=secrets.token_urlsafe(30),
            session_token=secrets.token_urlsafe(96),
            account_id=account_id,
            role_arn=role_arn,
            expires_at=self._clock() + lifetime,
        )
        self._by_key[key] = session
        return session

    def account_of(self, access_key_id: str, session_token: str | None) -> str | None:
        """The account of a temporary key (None for a key no AssumeRole issued).

        Raises ``InvalidToken`` or ``ExpiredToken`` as AWS refuses such a request.
        """
        session = self._by_key.get(access_key_id)
        if session is None:
            return None
        if session_token != session.session_token:
            raise InvalidToken(access_key_id)
        if self._clock() >= session.expires_at:
            raise ExpiredToken(access_key_id)
        return session.account_id

    def expire_all(self) -> int:
        """End every session now (as if revoked); returns how many were still live."""
        now = self._clock()
        live = [session for session in self._by_key.values() if session.expires_at > now]
        for session in live:
            session.expires_at = now
        return len(live)

    def __len__(self) -> int:
        return len(self._by_key)

    def __iter__(self) -> Iterator[Session]:
        """Every session issued (tests check that no secret of theirs reached any output)."""
        return iter(list(self._by_key.values()))
