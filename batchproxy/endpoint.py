"""Where a run's requests go: AWS through the credential chain, or the bundled emulator (--emulate).

Either way the rest of the run sees one ``ClientPool``; with --emulate the emulator runs in this event
loop, seeded with the input's connectors, and takes fixed dummy credentials (CONTRACT §7).
"""

from __future__ import annotations

import contextlib
import sys
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

from batchproxy.clients import ClientPool, Domain
from batchproxy.config import RunConfig
from batchproxy.emulator import EmulatorConfig, serve
from batchproxy.rows import Row

__all__ = ["EMULATED_CREDENTIALS", "Endpoint", "Targets", "endpoint"]

# Not a secret: the emulator checks the shape of a signature, never its value.
EMULATED_CREDENTIALS = ("AKIDBATCHPROXYEMULATE", "emulated-secret-not-checked")


@dataclass(frozen=True, slots=True)
class Endpoint:
    clients: ClientPool
    url: str | None  # the emulator's, when emulating


@dataclass(slots=True)
class Targets:
    """What the endpoint needs to know of the input's valid rows; ``add`` each of them."""

    emulate: bool
    domains: set[Domain] = field(default_factory=set)  # to check credentials for, before any request
    connectors: set[tuple[str, str]] = field(default_factory=set)  # (region, id): only when emulating

    def add(self, row: Row) -> None:
        target = row.target
        self.domains.add((target.profile, target.region))
        if self.emulate:
            self.connectors.add((target.region, target.voice_connector_id))


@contextlib.asynccontextmanager
async def endpoint(config: RunConfig, targets: Targets) -> AsyncIterator[Endpoint]:
    """Open the clients (and the emulator with --emulate); with real AWS, check credentials first.

    Raises ``errors.CredentialsError`` before any request when a (profile, region) the input needs
    has no credentials.
    """
    if not config.emulate:
        async with _pool(config, config.endpoint_url, None) as clients:
            for domain in sorted(targets.domains, key=str):
                await clients.check_credentials(domain)
            yield Endpoint(clients=clients, url=None)
        return
    seed = tuple(sorted(targets.connectors))
    async with serve(EmulatorConfig(connectors=seed)) as emulator:
        print(
            f"batchproxy: emulating Chime SDK Voice at {emulator.url} ({len(seed)} connectors)",
            file=sys.stderr,
        )
        async with _pool(config, emulator.url, EMULATED_CREDENTIALS) as clients:
            yield Endpoint(clients=clients, url=emulator.url)


def _pool(config: RunConfig, url: str | None, credentials: tuple[str, str] | None) -> ClientPool:
    return ClientPool(
        endpoint_url=url,
        max_connections=config.concurrency,
        connect_timeout=config.connect_timeout,
        read_timeout=config.read_timeout,
        static_credentials=credentials,
    )
