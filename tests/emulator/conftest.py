"""The emulator fixture shared by the emulator's tests (helpers live in ``helpers.py``)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from batchproxy.emulator import Emulator, EmulatorConfig, serve


@pytest.fixture
async def emulator() -> AsyncIterator[Emulator]:
    """An emulator with connector ``vc-1`` in us-east-1 and no dials turned."""
    async with serve(EmulatorConfig(seed=7, connectors=(("us-east-1", "vc-1"),))) as running:
        yield running
