"""The command line: parse options once, build the frozen configuration, hand it and the command's
operation to ``job.run``. Exit codes are ``exit_codes.ExitCode`` (docs/reference.md §5).
"""

from __future__ import annotations

import functools
import os
import secrets
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, TypeVar, cast

import click

from batchproxy import __version__
from batchproxy.config import DEFAULTS, RunConfig, WaveConfig
from batchproxy.engine.rollout import parse_duration
from batchproxy.errors import BatchproxyError, UsageError
from batchproxy.exit_codes import ExitCode
from batchproxy.insecure import refuse_plain_http
from batchproxy.job import run as run_job
from batchproxy.job import validate as validate_input
from batchproxy.lazy_group import LazyGroup
from batchproxy.logs import configure, get_logger
from batchproxy.operations import (
    DeleteSetting,
    Operation,
    PlanSetting,
    PutSetting,
    RestoreSetting,
    refuse_undeletable,
)
from batchproxy.setting_choice import choose_setting
from batchproxy.settings import SETTINGS, Setting
from batchproxy.shard import ShardSpec, parse_shard, shard_path

__all__ = ["main"]

F = TypeVar("F", bound=Callable[..., Any])

log = get_logger(__name__)

_setting_option = click.option(
    "--setting",
    type=click.Choice(list(SETTINGS)),
    help="The voice-connector setting to work on (default: proxy; with --resume and rollback, the one "
    "the results file records).",
)


@click.group(
    cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100}
)
@click.version_option(__version__, prog_name="batchproxy")
def main() -> None:
    """Apply Chime SDK Voice Connector settings in bulk: rate-limited, retried, resumable."""


# run/delete/rollback: the value goes to ``EventSink.open(value, overwrite=force)``.
events_option = click.option(
    "--events",
    metavar="PATH|-",
    help="Stream the run as JSON lines (docs/events.md); - = stdout, which then carries no summary.",
)

# Imported only when run (lazy_group): `batchproxy run` needs none of them.
main.add_lazy_command("emulator", "batchproxy.emulator.command:emulator_command")
main.add_lazy_command("merge", "batchproxy.merge_command:merge_command")
main.add_lazy_command("report", "batchproxy.report.command:report_command")


def run_command_line() -> int:
    """Run the command line; a Ctrl-C anywhere in click's own handling comes out as KeyboardInterrupt.

    click's standalone mode would turn it into "Aborted!" and exit 1, which means "rows not ok".
    """
    try:
        result = main.main(standalone_mode=False)
    except click.exceptions.Abort:
        raise KeyboardInterrupt from None
    except click.ClickException as exc:
        exc.show()
        return exc.exit_code
    return result if isinstance(result, int) else ExitCode.OK


def _defaulted(
    name: str, kind: click.FloatRange | click.IntRange, default: float, text: str
) -> Callable[[F], F]:
    return click.option(name, type=kind, default=default, show_default=True, help=text)


def _decorated(func: F, options: Sequence[Callable[[Any], Any]]) -> F:
    """Apply option decorators in the order they are listed (the first appears first in --help)."""
    decorated: Any = func
    for option in reversed(options):
        decorated = option(decorated)
    return cast(F, decorated)


def _target_options(func: F) -> F:
    """Where requests go and how fast: shared by every command that talks to AWS."""
    options = [
        click.option("--region", help="Region for rows with no Region column value (as in the AWS CLI)."),
        click.option("--profile", help="AWS profile for rows with no Profile column value."),
        click.option("--endpoint-url", help="Send requests here instead of AWS (as in the AWS CLI)."),
        click.option("--role-name", help="Role to assume in the account of each row's AccountId."),
        click.option("--external-id", help="External id passed to every AssumeRole."),
        click.option("--role-session-name", help="AssumeRole session name; default batchproxy-<run id>."),
        click.option(
            "--allow-insecure-endpoint",
            is_flag=True,
            help="Allow a plain-http endpoint that is not on loopback (requests travel unencrypted).",
        ),
        _defaulted(
            "--rate",
            click.FloatRange(min=0),
            DEFAULTS.rate,
            "Ceiling on requests/s per (profile or account, region), retries included; 0 = no ceiling.",
        ),
        _defaulted(
            "--burst",
            click.IntRange(min=1),
            DEFAULTS.burst,
            "Requests that may go at once after an idle spell.",
        ),
        _defaulted(
            "--concurrency", click.IntRange(min=1), DEFAULTS.concurrency, "Ceiling on requests in flight."
        ),
        _defaulted(
            "--max-attempts",
            click.IntRange(min=1),
            DEFAULTS.max_attempts,
            "Attempts per request, the first one included.",
        ),
        click.option(
            "--retry-budget",
            default=f"{DEFAULTS.retry_budget:g}s",
            show_default=True,
            help="How long a request keeps retrying an outage (30s, 2m); also how long a (profile, "
            "region) may go without any answer before its rows are skipped as unreachable.",
        ),
        _defaulted(
            "--read-timeout",
            click.FloatRange(min=0.1),
            DEFAULTS.read_timeout,
            "Seconds to wait for an answer before the attempt counts as lost.",
        ),
        _defaulted(
            "--grace",
            click.FloatRange(min=0),
            DEFAULTS.grace_seconds,
            "Seconds that requests in flight may take to finish after SIGINT/SIGTERM.",
        ),
        click.option("--emulate", is_flag=True, help="Run against the bundled emulator, in-process."),
        events_option,
        click.option("--shard", metavar="I/N|auto/N", help="Take only shard I of N of the rate domains."),
        click.option(
            "--log-format",
            type=click.Choice(["console", "json"]),
            help="Default: console on a terminal, json otherwise.",
        ),
    ]
    return _decorated(func, options)


def _journal_options(func: F) -> F:
    options = [
        click.option("--results", type=click.Path(path_type=Path), help="Results file path."),
        click.option("--failures", type=click.Path(path_type=Path), help="Failure report path."),
        click.option("--resume", is_flag=True, help="Continue an interrupted run from its results file."),
        click.option("--retry-failed", is_flag=True, help="With --resume: send failed rows again too."),
        click.option("--force", is_flag=True, help="Overwrite an existing results file."),
        click.option("--skip-invalid", is_flag=True, help="Send the valid rows; record invalid ones."),
    ]
    return _decorated(func, options)


def _rollout_options(func: F) -> F:
    options = [
        click.option("--canary", type=click.IntRange(min=0), default=0, help="Run the first N rows alone."),
        click.option("--waves", help="Wave sizes, e.g. 1,10,10%; the last size repeats."),
        click.option("--pause", help="Wait this long between waves (30s, 5m, 1h)."),
        click.option("--approve", is_flag=True, help="Ask on the terminal before each next wave."),
        click.option("--max-failures", help="Abort when more than N (or P% of the input) rows fail."),
    ]
    return _decorated(func, options)


def _writing_options(func: F) -> F:
    """What run, delete and rollback share: results files, where and how fast, and rollout gating."""
    return _journal_options(_target_options(_rollout_options(func)))


def _exits(func: Callable[..., int]) -> Callable[..., None]:
    """Run a command body, turn our errors into a clean message and exit code (no traceback)."""

    @functools.wraps(func)
    def wrapper(**kwargs: Any) -> None:
        configure(kwargs.get("log_format") or ("console" if sys.stderr.isatty() else "json"))
        try:
            code = func(**kwargs)
        except BatchproxyError as exc:
            click.echo(f"batchproxy: {exc}", err=True)
            code = ExitCode.USAGE
        except KeyboardInterrupt:
            # SIGINT before the scheduler watches for it (validation, journal loading) or after it stops
            # watching. Without this, click prints "Aborted!" and exits 1, which means "rows not ok".
            click.echo("batchproxy: interrupted; the results file, if any, is resumable", err=True)
            code = ExitCode.INTERRUPTED
        sys.exit(code)

    return wrapper


def _run(operation: Operation, input_csv: Path, **opts: Any) -> ExitCode:
    return run_job(_run_config(operation, input_csv, **opts), operation)


def _setting(opts: dict[str, Any], *records: Path | None, resumed: Path | None = None) -> Setting:
    """``--setting``, checked against the results files it must agree with (docs/reference.md §9)."""
    paths = [path for path in records if path is not None]
    if opts.get("resume") and resumed is not None:
        paths.append(opts.get("results") or resumed)
    return choose_setting(opts.get("setting"), paths)


def _run_config(operation: Operation, input_csv: Path, **opts: Any) -> RunConfig:
    paths = operation.default_paths(input_csv)
    emulate = bool(opts.get("emulate"))
    shard = parse_shard(opts["shard"], os.environ) if opts.get("shard") else None
    allow_insecure = bool(opts.get("allow_insecure_endpoint"))
    refuse_plain_http(opts.get("endpoint_url"), os.environ, allow=allow_insecure or emulate)
    return RunConfig(
        input_path=input_csv,
        results_path=opts.get("results") or _sharded(paths.results, shard) or paths.results,
        failures_path=opts.get("failures") or _sharded(paths.failures, shard),
        region=opts.get("region") or (DEFAULTS.emulate_region if emulate else None),
        profile=opts.get("profile"),
        endpoint_url=opts.get("endpoint_url"),
        env_region=os.environ.get("AWS_REGION") or None,
        rate=opts["rate"],
        burst=opts["burst"],
        concurrency=opts["concurrency"],
        max_attempts=opts["max_attempts"],
        read_timeout=opts["read_timeout"],
        grace_seconds=opts["grace"],
        resume=opts.get("resume", False),
        retry_failed=opts.get("retry_failed", False),
        force=opts.get("force", False),
        skip_invalid=opts.get("skip_invalid", False),
        snapshot=opts.get("snapshot", False),
        skip_unchanged=opts.get("skip_unchanged", False),
        emulate=emulate,
        waves=WaveConfig(
            canary=opts.get("canary") or 0,
            waves=tuple(s for s in (opts.get("waves") or "").split(",") if s.strip()),
            pause=opts.get("pause"),
            approve=opts.get("approve", False),
            max_failures=opts.get("max_failures"),
        ),
        argv=_invocation(),
        role_name=opts.get("role_name"),
        external_id=opts.get("external_id"),
        role_session_name=opts.get("role_session_name") or f"batchproxy-{secrets.token_hex(4)}",
        events=opts.get("events"),
        shard=shard,
        retry_budget=_retry_budget(opts["retry_budget"]),
        allow_insecure_endpoint=allow_insecure,
        setting=operation.setting.name,
    )


def _sharded(path: Path | None, shard: ShardSpec | None) -> Path | None:
    """A default output path with ``.shard-I-of-N`` before its extension (a given path is kept)."""
    return path if path is None or shard is None else shard_path(path, shard)


def _retry_budget(text: str) -> float:
    seconds = parse_duration(text, "--retry-budget")
    if seconds <= 0:
        raise UsageError(f"--retry-budget {text!r}: must be more than 0")
    return seconds


def _invocation() -> tuple[str, ...]:
    """The command line as typed, with a program name that runs batchproxy again (for the summary).

    Under ``python -m batchproxy`` argv[0] is the path of ``__main__.py``, which is not a command; the
    ``batchproxy`` script installed beside the interpreter runs the same code.
    """
    argv = list(sys.argv)
    if argv and Path(argv[0]).name == "__main__.py":
        script = Path(sys.executable).with_name("batchproxy")
        argv[0] = str(script) if script.exists() else "batchproxy"
    return tuple(argv)


@main.command()
@click.argument("input_csv", metavar="INPUT.csv", type=click.Path(path_type=Path))
@_writing_options
@_setting_option
@click.option("--snapshot", is_flag=True, help="Record each connector's previous setting (for rollback).")
@click.option("--skip-unchanged", is_flag=True, help="Read first; do not put rows that already match.")
@_exits
def run(input_csv: Path, **opts: Any) -> int:
    """Apply every row of INPUT.csv; write a results file and a failure report."""
    setting = _setting(opts, resumed=PutSetting().default_paths(input_csv).results)
    if setting.end_of_support is not None:
        log.warning(
            f"AWS ended support for {setting.name} sessions on {setting.end_of_support}; "
            f"`batchproxy delete` removes {setting.name} configurations in bulk"
        )
    operation = PutSetting(setting=setting, snapshot=opts["snapshot"], skip_unchanged=opts["skip_unchanged"])
    return _run(operation, input_csv, **opts)


@main.command()
@click.argument("input_csv", metavar="INPUT.csv", type=click.Path(path_type=Path))
@_writing_options
@_setting_option
@click.option("--snapshot", is_flag=True, help="Record each connector's previous setting first.")
@_exits
def delete(input_csv: Path, **opts: Any) -> int:
    """Delete the setting (default: the proxy configuration) of every connector in INPUT.csv."""
    setting = _setting(opts, resumed=DeleteSetting().default_paths(input_csv).results)
    refuse_undeletable(setting)
    return _run(DeleteSetting(setting=setting, snapshot=opts["snapshot"]), input_csv, **opts)


@main.command()
@click.argument("results_csv", metavar="RESULTS.csv", type=click.Path(path_type=Path))
@_writing_options
@_setting_option
@_exits
def rollback(results_csv: Path, **opts: Any) -> int:
    """Restore what `run --snapshot` recorded in RESULTS.csv, for its rows that are ok."""
    setting = _setting(opts, results_csv, resumed=RestoreSetting().default_paths(results_csv).results)
    return _run(RestoreSetting(setting=setting), results_csv, **opts)


@main.command()
@click.argument("input_csv", metavar="INPUT.csv", type=click.Path(path_type=Path))
@click.option("--plan", "plan_path", type=click.Path(path_type=Path), help="Plan file path.")
@click.option("--force", is_flag=True, help="Overwrite an existing plan file.")
@_target_options
@_setting_option
@_exits
def plan(input_csv: Path, plan_path: Path | None, **opts: Any) -> int:
    """Show what `run` would change, reading each connector's current setting. Sends no writes."""

    return _run(PlanSetting(setting=_setting(opts)), input_csv, results=plan_path, **opts)


@main.command()
@click.argument("input_csv", metavar="INPUT.csv", type=click.Path(path_type=Path))
@click.option("--region", help="Region for rows with no Region column value.")
@click.option("--role-name", help="Role to assume in the account of each row's AccountId.")
@click.option("--log-format", type=click.Choice(["console", "json"]))
@_setting_option
@_exits
def validate(
    input_csv: Path, region: str | None, role_name: str | None, log_format: str | None, setting: str | None
) -> int:
    """Check INPUT.csv as `run` would, sending nothing. Exit 0 when valid, 2 when not."""

    chosen = choose_setting(setting, ())
    region = region or os.environ.get("AWS_REGION") or None
    return validate_input(input_csv, region=region, role_name=role_name, setting=chosen)
