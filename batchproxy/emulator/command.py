"""``batchproxy emulator``: serve a local Chime SDK Voice endpoint until SIGINT/SIGTERM.

The first line on stdout is the URL it listens on (flushed at once), so a script or test can start it
with ``--port 0`` and read where to connect. Everything else goes to stderr.
"""

from __future__ import annotations

import asyncio
import signal
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

import click

from batchproxy.emulator.app import serve
from batchproxy.emulator.config import (
    DENY_ERRORS,
    EmulatorConfig,
    parse_duration,
    parse_faults,
    parse_rate_schedule,
    parse_region_rate,
)
from batchproxy.emulator.seeding import read_account_connectors
from batchproxy.emulator.settings import parse_absent_answers, settings

__all__ = ["emulator_command"]

T = TypeVar("T")


def _parsed(parse: Callable[[str], T]) -> Callable[[click.Context, click.Parameter, str | None], T | None]:
    """A click callback turning a parser's ValueError into a usage error naming the option."""

    def callback(ctx: click.Context, param: click.Parameter, value: str | None) -> T | None:
        if value is None:
            return None
        try:
            return parse(value)
        except ValueError as error:
            raise click.BadParameter(str(error)) from None

    return callback


def _region_rates(ctx: click.Context, param: click.Parameter, values: tuple[str, ...]) -> dict[str, float]:
    try:
        return dict(parse_region_rate(value) for value in values)
    except ValueError as error:
        raise click.BadParameter(str(error)) from None


def _absent_answers(ctx: click.Context, param: click.Parameter, values: tuple[str, ...]) -> dict[str, str]:
    pairs = {}
    for value in values:
        key, sep, kind = value.partition("=")
        if not sep:
            raise click.BadParameter(f"expected SETTING=ANSWER, got {value!r}")
        pairs[key.strip()] = kind.strip()
    try:
        return dict(parse_absent_answers(pairs))
    except ValueError as error:
        raise click.BadParameter(str(error)) from None


_ABSENT_TEXT = {"not-found": "404 NotFoundException", "empty": "200 without it", "defaults": "200 defaults"}


def _served() -> str:
    # \b keeps click from re-wrapping the table.
    lines = [
        "\b",
        "Settings served (Put/Get/Delete VoiceConnector<Setting>, from the botocore model),",
        "and what Get answers for one never put:",
    ]
    for setting in settings():
        verbs = "Put Get Delete" if setting.delete else "Put Get       "
        name = setting.put.removeprefix("PutVoiceConnector")
        lines.append(f"  {name:<30} {verbs}  {_ABSENT_TEXT[setting.absent]}")
    lines.append(f"  {'Proxy':<30} Put Get Delete  {_ABSENT_TEXT['not-found']}")
    lines.append("Also: Create/Get/List/DeleteVoiceConnector, and STS AssumeRole (POST /) on the same port.")
    return "\n".join(lines)


@click.command("emulator", epilog=_served())
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", type=click.IntRange(0, 65535), default=0, show_default=True, help="0 = a free port.")
@click.option("--seed", type=int, default=None, help="Seed for fault dice, latency jitter and generated ids.")
@click.option(
    "--rate",
    type=click.FloatRange(min=0),
    default=0.0,
    show_default=True,
    help="Requests/s per region; 0 = unlimited.",
)
@click.option(
    "--burst",
    type=click.IntRange(min=1),
    default=None,
    help="Token bucket size [default: one second of --rate].",
)
@click.option(
    "--region-rate",
    "region_rates",
    multiple=True,
    callback=_region_rates,
    metavar="REGION=RATE",
    help="Per-region rate (repeatable).",
)
@click.option(
    "--rate-schedule",
    callback=_parsed(parse_rate_schedule),
    metavar="T:RATE,...",
    help="Default rate by seconds since start, e.g. 0:100,20:30,40:150.",
)
@click.option(
    "--retry-after",
    type=click.IntRange(min=0),
    default=None,
    help="Send Retry-After with 429s: N seconds, or 0 = the bucket's wait.",
)
@click.option(
    "--fail",
    "faults",
    callback=_parsed(parse_faults),
    metavar="KIND=P,...",
    help="Fault odds per request; kinds 429,500,502,503,504,reset,lost.",
)
@click.option(
    "--latency",
    callback=_parsed(parse_duration),
    metavar="DURATION",
    help="Mean added latency, e.g. 20ms (jittered ±50%).",
)
@click.option(
    "--connectors",
    "connectors_file",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="CSV with VoiceConnectorId (optional Region, AccountId or RoleArn) columns: these exist at start.",
)
@click.option("--auto-create", is_flag=True, help="Any unknown connector id is created on first use.")
@click.option(
    "--default-region",
    default="us-east-1",
    show_default=True,
    help="Region of --connectors rows without one.",
)
@click.option(
    "--deny-access-key",
    "denied",
    multiple=True,
    metavar="AKID",
    help="Refuse this access key id (repeatable).",
)
@click.option(
    "--deny-error",
    type=click.Choice(DENY_ERRORS),
    default=DENY_ERRORS[0],
    show_default=True,
    help="How a denied key is refused.",
)
@click.option(
    "--sts-deny-account",
    "sts_denied_accounts",
    multiple=True,
    metavar="ACCOUNT",
    help="AssumeRole into this account answers AccessDenied (repeatable).",
)
@click.option(
    "--sts-deny-role",
    "sts_denied_roles",
    multiple=True,
    metavar="NAME",
    help="AssumeRole of a role with this name answers AccessDenied (repeatable).",
)
@click.option(
    "--sts-throttle",
    type=click.IntRange(min=0),
    default=0,
    show_default=True,
    help="The first N AssumeRole calls answer Throttling (400).",
)
@click.option(
    "--sts-fail",
    "sts_failures",
    type=click.IntRange(min=0),
    default=0,
    show_default=True,
    help="The first N AssumeRole calls answer ServiceUnavailable (503), before any --sts-throttle.",
)
@click.option(
    "--sts-latency",
    callback=_parsed(parse_duration),
    metavar="DURATION",
    help="Delay every AssumeRole answer, e.g. 200ms.",
)
@click.option(
    "--credential-lifetime",
    type=click.FloatRange(min=0, min_open=True),
    default=None,
    metavar="SECONDS",
    help="Temporary keys expire after this long [default: the DurationSeconds asked for].",
)
@click.option(
    "--absent-answer",
    "absent_answers",
    multiple=True,
    callback=_absent_answers,
    metavar="SETTING=ANSWER",
    help="How Get answers a setting never put: not-found, empty or defaults (repeatable), "
    "e.g. Termination=empty.",
)
def emulator_command(  # noqa: PLR0917 - click passes each option as an argument
    host: str,
    port: int,
    seed: int | None,
    rate: float,
    burst: int | None,
    region_rates: dict[str, float],
    rate_schedule: tuple[tuple[float, float], ...] | None,
    retry_after: int | None,
    faults: dict[str, float] | None,
    latency: float | None,
    connectors_file: Path | None,
    auto_create: bool,
    default_region: str,
    denied: tuple[str, ...],
    deny_error: str,
    sts_denied_accounts: tuple[str, ...],
    sts_denied_roles: tuple[str, ...],
    sts_throttle: int,
    sts_failures: int,
    sts_latency: float | None,
    credential_lifetime: float | None,
    absent_answers: dict[str, str],
) -> None:
    """Serve a local Chime SDK Voice endpoint (for tests and demos) until SIGINT/SIGTERM."""
    try:
        seeds = read_account_connectors(connectors_file, default_region) if connectors_file else []
    except (ValueError, OSError, UnicodeDecodeError) as error:
        raise click.BadParameter(str(error), param_hint="--connectors") from None
    config = EmulatorConfig(
        host=host,
        port=port,
        seed=seed,
        rate=rate,
        burst=burst,
        region_rates=region_rates,
        rate_schedule=rate_schedule or (),
        retry_after=retry_after,
        faults=faults or {},
        latency=latency or 0.0,
        connectors=tuple((region, vc_id) for account, region, vc_id in seeds if not account),
        account_connectors=tuple(seed for seed in seeds if seed[0]),
        auto_create=auto_create,
        default_region=default_region,
        denied_access_keys=frozenset(denied),
        deny_error=deny_error,
        sts_denied_accounts=frozenset(sts_denied_accounts),
        sts_denied_roles=frozenset(sts_denied_roles),
        sts_throttle=sts_throttle,
        sts_failures=sts_failures,
        sts_latency=sts_latency or 0.0,
        credential_lifetime=credential_lifetime,
        absent_answers=absent_answers,
    )
    asyncio.run(_serve_until_signalled(config))


async def _serve_until_signalled(config: EmulatorConfig) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    async with serve(config) as emulator:
        print(emulator.url, flush=True)
        count = sum(state.count() for state in emulator.accounts)
        accounts = sum(1 for state in emulator.accounts if state.count())
        click.echo(f"emulator: {count} connectors in {accounts} accounts; Ctrl-C to stop", err=True)
        await stop.wait()
        click.echo(f"emulator: served {emulator.stats.count()} requests", err=True)
    sys.stdout.flush()
