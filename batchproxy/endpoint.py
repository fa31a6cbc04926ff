"""Where a run's requests go: AWS through the credential chain, or the bundled emulator (--emulate).

Either way the rest of the run sees one ``ClientPool``; with --emulate the emulator runs in this event
loop, seeded with the input's connectors, and takes fixed dummy credentials (docs/reference.md §7).
"""

from __future__ import annotations

import contextlib
import sys
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

from batchproxy.assume import AssumedRoles
from batchproxy.clients import ClientPool
from batchproxy.config import RunConfig
from batchproxy.principal import Domain, Role
from batchproxy.profiles import AwsProfiles
from batchproxy.rows import Row

__all__ = ["EMULATED_CREDENTIALS", "Endpoint", "RowRegions", "Targets", "endpoint", "row_regions"]

# Not a secret: the emulator checks the shape of a signature, never its value.
EMULATED_CREDENTIALS = ("AKIDBATCHPROXYEMULATE", "emulated-secret-not-checked")


@dataclass(frozen=True, slots=True)
class Endpoint:
    clients: ClientPool
    url: str | None  # the emulator's, when emulating


@dataclass(frozen=True, slots=True)
class RowRegions:
    """How rows get their region: ``default`` for every row without a Region cell when set, else the
    region ``profiles`` has for the row's profile. ``profiles`` is None when emulating (no AWS files)."""

    default: str | None
    profiles: AwsProfiles | None


def row_regions(
    *, region: str | None, env_region: str | None, profile: str | None, emulate: bool
) -> RowRegions:
    """Read the AWS config files once for the run: --region, else ``AWS_REGION`` (``env_region``),
    else ``AWS_DEFAULT_REGION``, else each row's profile's ``region``, as the AWS CLI decides.

    Raises ``UsageError`` for a config file botocore cannot parse or an unknown --profile.
    """
    if emulate:
        return RowRegions(default=region, profiles=None)
    profiles = AwsProfiles.load(profile=profile)
    return RowRegions(default=region or env_region or profiles.env_region(), profiles=profiles)


@dataclass(slots=True)
class Targets:
    """What the endpoint needs to know of the input's valid rows; ``add`` each of them."""

    emulate: bool
    domains: set[Domain] = field(default_factory=set)  # to check credentials for, before any request
    connectors: set[tuple[str, str]] = field(default_factory=set)  # (region, id): only when emulating
    # (account, region, id) of rows signed by an assumed role: only when emulating
    account_connectors: set[tuple[str, str, str]] = field(default_factory=set)

    def add(self, row: Row) -> None:
        target = row.target
        self.domains.add(target.domain)
        if not self.emulate:
            return
        if target.role is not None:
            self.account_connectors.add((target.role.account, target.region, target.voice_connector_id))
        else:
            self.connectors.add((target.region, target.voice_connector_id))

    @property
    def assumes_roles(self) -> bool:
        return any(isinstance(principal, Role) for principal, _ in self.domains)


@contextlib.asynccontextmanager
async def endpoint(
    config: RunConfig, targets: Targets, profiles: AwsProfiles | None = None
) -> AsyncIterator[Endpoint]:
    """Open the clients (and the emulator with --emulate); with real AWS, check credentials first.

    ``profiles`` is the run's ``RowRegions.profiles`` (the files parsed once); None reads them here.

    Raises ``errors.CredentialsError`` before any request when a (profile, region) the input needs
    has no credentials.
    """
    if not config.emulate:
        if profiles is None:
            profiles = AwsProfiles.load(profile=config.profile)
        async with contextlib.AsyncExitStack() as stack:
            roles = None
            if targets.assumes_roles:
                roles = AssumedRoles(base=profiles.session(None), new_session=profiles.derived, config=config)
                await stack.enter_async_context(roles)
            clients = await stack.enter_async_context(
                _pool(config, config.endpoint_url, None, profiles, roles)
            )
            for domain in sorted(targets.domains, key=str):
                await clients.check_credentials(domain)
            yield Endpoint(clients=clients, url=None)
        return
    # Imported only for --emulate: the emulator's web app is a third of start-up for everyone else.
    from batchproxy.emulator import EmulatorConfig, serve  # noqa: PLC0415

    seed = tuple(sorted(targets.connectors))
    emulated = EmulatorConfig(connectors=seed, account_connectors=tuple(sorted(targets.account_connectors)))
    async with serve(emulated) as emulator:
        print(
            f"batchproxy: emulating Chime SDK Voice at {emulator.url} "
            f"({len(seed) + len(targets.account_connectors)} connectors)",
            file=sys.stderr,
        )
        roles = AssumedRoles.static(EMULATED_CREDENTIALS, config=config, sts_endpoint_url=emulator.url)
        async with roles, _pool(config, emulator.url, EMULATED_CREDENTIALS, roles=roles) as clients:
            yield Endpoint(clients=clients, url=emulator.url)


def _pool(
    config: RunConfig,
    url: str | None,
    credentials: tuple[str, str] | None,
    profiles: AwsProfiles | None = None,
    roles: AssumedRoles | None = None,
) -> ClientPool:
    return ClientPool(
        endpoint_url=url,
        max_connections=config.concurrency,
        connect_timeout=config.connect_timeout,
        read_timeout=config.read_timeout,
        static_credentials=credentials,
        profiles=profiles,
        roles=roles,
    )
