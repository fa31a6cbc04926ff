"""``job``: prepare → execute → finish for any operation, with nothing in the engine naming a command.

The proof is a toy operation defined here and nowhere else: it reads each connector with
GetVoiceConnector, writes the connector's name as an extra column to a sink of its own, and suggests
its own next command. It runs end to end through ``job.run`` against the real emulator (in-process,
``--emulate``), over real HTTP with aioboto3.
"""

from __future__ import annotations

import contextlib
import csv
import dataclasses
from collections.abc import Iterator, Sequence
from pathlib import Path

import pytest

from batchproxy import input as input_file
from batchproxy import job
from batchproxy.config import RunConfig
from batchproxy.exit_codes import ExitCode
from batchproxy.operations import (
    Applied,
    Background,
    Caller,
    NextCommands,
    OutputPaths,
    Sink,
    SinkEnding,
    SinkOpening,
    SinkResult,
)
from batchproxy.rows import Outcome, Row, Status
from batchproxy.settings import SETTINGS


class NameSheet:
    """The toy's sink: one line per row (number, connector, status, name), written on finish."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.lines: list[tuple[int, str, str, str]] = []

    def record(self, row: Row, outcome: Outcome) -> None:
        name = outcome.extra.get("name", "")
        self.lines.append((row.number, row.target.voice_connector_id, outcome.status.value, name))

    def record_invalid(self, row: input_file.InvalidRow, outcome: Outcome) -> None:
        self.lines.append((row.number, "", outcome.status.value, ""))

    def background(self) -> Sequence[Background]:
        return ()

    def finish(self, ending: SinkEnding) -> SinkResult:
        with self.path.open("w", newline="") as out:
            writer = csv.writer(out)
            writer.writerow(["row", "VoiceConnectorId", "status", *ConnectorNames.extra_columns])
            writer.writerows(sorted(self.lines))
        not_ok = sum(1 for line in self.lines if line[2] != Status.OK.value)
        return SinkResult(not_ok=not_ok, results_path=self.path, notes=[f"{len(self.lines)} names"])


@contextlib.contextmanager
def name_sheet(path: Path) -> Iterator[Sink]:
    yield NameSheet(path)


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class ConnectorNames:
    """A read-only operation: each connector's name."""

    name = "GetVoiceConnector"
    command = "names"
    setting = SETTINGS["proxy"]  # any: its rows need no setting's values
    needs_settings = False
    writes = False
    extra_columns = ("name",)

    def default_paths(self, input_path: Path) -> OutputPaths:
        return OutputPaths(results=input_path.with_name(input_path.stem + ".names.csv"))

    def check(self, scan: input_file.Scan) -> None:
        """Every row is fine as it is."""

    def prepare(self, row: Row, header: input_file.Header) -> Row | Outcome:
        return row

    def open_sink(self, opening: SinkOpening) -> contextlib.AbstractContextManager[Sink]:
        return name_sheet(opening.config.results_path)

    def next_commands(self, config: RunConfig) -> NextCommands:
        return NextCommands(retry=["names-again", str(config.input_path)])

    async def apply(self, row: Row, call: Caller) -> Applied:
        answer = await call("get_voice_connector", VoiceConnectorId=row.target.voice_connector_id)
        return Applied(extra={"name": answer["VoiceConnector"]["Name"]})


def _config(source: Path, operation: ConnectorNames, **options: object) -> RunConfig:
    paths = operation.default_paths(source)
    settings: dict[str, object] = {
        "input_path": source,
        "results_path": paths.results,
        "failures_path": paths.failures,
        "region": "us-east-1",
        "profile": None,
        "endpoint_url": None,
        "rate": 0,
        "emulate": True,
    }
    settings.update(options)
    return RunConfig(**settings)  # type: ignore[arg-type]


def test_a_toy_operation_runs_end_to_end_through_the_job(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The toy's requests reach the emulator, its extra column lands in its own sink, and the summary
    carries its command name and notes: no edit outside this file was needed for any of it."""
    source = tmp_path / "connectors.csv"
    regions = ["us-east-1", "eu-west-2"]
    lines = [f"vc-{n:03d},{regions[n % 2]}" for n in range(1, 13)]
    source.write_text("VoiceConnectorId,Region\n" + "\n".join(lines) + "\n")
    operation = ConnectorNames()

    code = job.run(_config(source, operation), operation)

    assert code is ExitCode.OK
    with (tmp_path / "connectors.names.csv").open() as written:
        rows = list(csv.DictReader(written))
    assert [row["VoiceConnectorId"] for row in rows] == [f"vc-{n:03d}" for n in range(1, 13)]
    assert {(row["status"], row["name"]) for row in rows} == {("ok", "emulated")}
    summary = capsys.readouterr().out
    assert "batchproxy names: every row ok" in summary
    assert "note:     12 names" in summary
    assert "by region:" in summary


def test_invalid_rows_stop_the_job_in_prepare_and_the_toy_sink_gets_them_with_skip_invalid(
    tmp_path: Path,
) -> None:
    """An empty connector id: without --skip-invalid, prepare refuses (exit 2, nothing written); with it,
    the row goes to the toy's sink as invalid and the exit code says not every row is ok."""
    source = tmp_path / "connectors.csv"
    source.write_text("VoiceConnectorId,Region\nvc-001,us-east-1\n,us-east-1\n")
    operation = ConnectorNames()

    prepared = job.prepare(_config(source, operation), operation)
    assert isinstance(prepared, job.Invalid)
    assert prepared.exit_code is ExitCode.USAGE
    assert not (tmp_path / "connectors.names.csv").exists()

    code = job.run(_config(source, operation, skip_invalid=True), operation)
    assert code is ExitCode.NOT_ALL_OK
    with (tmp_path / "connectors.names.csv").open() as written:
        statuses = [row["status"] for row in csv.DictReader(written)]
    assert statuses == ["ok", "invalid"]
