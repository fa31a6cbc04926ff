"""Every AWS account the emulator has seen, each with its own connectors (an ``EmulatorState``).

A request signed with an ordinary access key lands in the default account (``ACCOUNT_ID``), as
before accounts existed; one signed with a temporary key that ``AssumeRole`` handed out lands in
the account of the role it assumed. So a test sees which account each write reached.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from batchproxy.emulator.state import ACCOUNT_ID, EmulatorState, SharedDials

__all__ = ["Accounts"]


class Accounts:
    """Account id → its state, created on first use; the auto-create switch is shared by all."""

    def __init__(self, *, auto_create: bool = False, seed: int | None = None) -> None:
        self._seed = seed
        self._dials = SharedDials(auto_create=auto_create)
        self._states: dict[str, EmulatorState] = {}
        self.default = self.get(ACCOUNT_ID)

    def get(self, account_id: str) -> EmulatorState:
        """The account's state (an empty one the first time the account is named)."""
        state = self._states.get(account_id)
        if state is None:
            state = EmulatorState(seed=self._seed, account_id=account_id, dials=self._dials)
            self._states[account_id] = state
        return state

    def ids(self) -> list[str]:
        """The accounts seen so far, sorted."""
        return sorted(self._states)

    def __iter__(self) -> Iterator[EmulatorState]:
        return iter([self._states[account_id] for account_id in self.ids()])

    def __contains__(self, account_id: object) -> bool:
        return account_id in self._states

    def dump(self) -> dict[str, Any]:
        """Account → region → connector → settings, JSON-ready (accounts without connectors left out)."""
        return {state.account_id: state.dump() for state in self if state.count()}
