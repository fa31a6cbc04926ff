"""``--shard`` on real processes (docs/reference.md §12): the CLI as subprocesses against one emulator
subprocess.

Three shards run at once, one is killed with SIGKILL and its exact command run again (it resumes),
and the merge of the three equals a single-process run row for row. Also: more shards than domains
(idle shards write empty files and exit 0), ``auto/N`` from the job's environment, invalid rows with
``--skip-invalid`` (shard 1 records them), ``plan --shard``, and what the summary says.
"""

from __future__ import annotations

import re
import signal
import time
from collections.abc import Mapping, Sequence
from pathlib import Path

from batchproxy.shard import ShardSpec, shard_path
from batchproxy.shard_record import input_digest, load_shard_record
from tests.e2e.harness import (
    aws_env,
    emulator,
    make_rows,
    read_csv,
    run_cli,
    start_cli,
    stop_process,
    write_csv,
)

REGIONS = ("us-east-1", "eu-west-2", "ap-southeast-2", "us-west-2", "eu-central-1", "ca-central-1")
UNKNOWN = {4, 23, 51, 80}  # 0-based indexes of rows whose connector the emulator does not have
VOLATILE = {"request_id", "duration_ms", "finished_at"}
PUT = "PutVoiceConnectorProxy"


def _stable(lines: Sequence[Mapping[str, str]]) -> list[dict[str, str]]:
    return [{k: v for k, v in line.items() if k not in VOLATILE} for line in lines]


def _results(source: Path, index: int, count: int) -> Path:
    return shard_path(source.with_name("input.results.csv"), ShardSpec(index=index, count=count))


def _wait_for_lines(path: Path, lines: int, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while not path.exists() or path.read_bytes().count(b"\n") < lines:
        assert time.monotonic() < deadline, f"{path} did not reach {lines} lines in {seconds} s"
        time.sleep(0.02)


def test_three_shards_one_killed_and_rerun_merge_to_a_single_run(tmp_path: Path) -> None:
    """90 rows over 6 regions, 3 shards at once: shard 2 is SIGKILLed mid-run and its exact command run
    again, which resumes (rows already final are not sent again). Every row is in exactly one shard,
    no region in two, each connector put about once, and the merge equals a one-process run."""
    rows = make_rows(90, regions=REGIONS)
    source = write_csv(tmp_path / "input.csv", rows)
    known = write_csv(tmp_path / "known.csv", [r for i, r in enumerate(rows) if i not in UNKNOWN])
    with emulator("--latency", "150ms", "--connectors", str(known)) as emu:
        target = (
            "--endpoint-url",
            emu.url,
            "--region",
            "us-east-1",
            "--concurrency",
            "2",
            "--log-format",
            "json",
        )

        def command(index: int) -> list[str | Path]:
            return ["run", source, *target, "--shard", f"{index}/3", "--resume"]

        shards = {index: start_cli(*command(index), env=aws_env()) for index in (1, 2, 3)}
        try:
            _wait_for_lines(_results(source, 2, 3), 4)
            shards[2].send_signal(signal.SIGKILL)
            shards[2].wait(timeout=30)
            for index in (1, 3):
                _, stderr = shards[index].communicate(timeout=120)
                assert shards[index].returncode in (0, 1), stderr
        finally:
            for shard in shards.values():
                stop_process(shard)
        assert shards[2].returncode == -signal.SIGKILL
        rerun = run_cli(*command(2))
        assert rerun.returncode in (0, 1), rerun.stdout + rerun.stderr
        assert re.search(r"\((\d+) already final from an earlier run", rerun.stdout), rerun.stdout
        puts = emu.stats()["accepted_writes"].get(PUT, 0)
        single_files = ("--results", tmp_path / "single.csv", "--failures", tmp_path / "single.failed.csv")
        single = run_cli("run", source, *target, *single_files)
        assert single.returncode == 1, single.stderr
    # Each known connector was put once, bar the few in flight when shard 2 was killed (sent again).
    assert len(rows) - len(UNKNOWN) <= puts <= len(rows) - len(UNKNOWN) + 2
    owners: dict[str, set[int]] = {}
    seen: list[int] = []
    for index in (1, 2, 3):
        record = load_shard_record(_results(source, index, 3))
        lines = read_csv(_results(source, index, 3))
        assert (record.index, record.count, record.input_rows) == (index, 3, 90)
        assert record.shard_rows == len(lines) == 30  # 6 equal domains: 2 each
        assert record.input_digest == input_digest(source)
        for line in lines:
            owners.setdefault(line["Region"], set()).add(index)
            seen.append(int(line["row"]))
    assert sorted(seen) == list(range(1, 91))
    assert all(len(shards) == 1 for shards in owners.values()), owners
    merged = run_cli("merge", *(_results(source, index, 3) for index in (1, 2, 3)))
    assert merged.returncode == 1, merged.stderr
    assert "merged 3 shards: 90 rows (86 ok, 4 failed)" in merged.stdout
    assert _stable(read_csv(tmp_path / "input.results.csv")) == _stable(read_csv(tmp_path / "single.csv"))
    assert read_csv(tmp_path / "input.failed.csv") == read_csv(tmp_path / "single.failed.csv")


def test_more_shards_than_domains_leaves_idle_shards_that_merge_as_nothing(tmp_path: Path) -> None:
    """Two regions over four shards: shards 3 and 4 find no rows, write a header-only results file,
    failure report and a record, and exit 0; the four merge to every row."""
    source = write_csv(tmp_path / "input.csv", make_rows(10, regions=REGIONS[:2]))
    codes = {}
    for index in (1, 2, 3, 4):
        done = run_cli("run", source, "--emulate", "--shard", f"{index}/4", "--log-format", "json")
        codes[index] = done.returncode
        assert "Traceback" not in done.stderr
    assert codes == {1: 0, 2: 0, 3: 0, 4: 0}
    for index in (3, 4):
        results = _results(source, index, 4)
        failures = shard_path(tmp_path / "input.failed.csv", ShardSpec(index=index, count=4))
        assert results.read_text().count("\n") == 1
        assert failures.read_text().count("\n") == 1
        assert load_shard_record(results).shard_rows == 0
    merged = run_cli("merge", *(_results(source, index, 4) for index in (1, 2, 3, 4)))
    assert merged.returncode == 0, merged.stderr
    assert [line["status"] for line in read_csv(tmp_path / "input.results.csv")] == ["ok"] * 10


def test_auto_takes_the_index_from_the_job_environment(tmp_path: Path) -> None:
    """JOB_COMPLETION_INDEX=1 (Kubernetes) is shard 2; AWS_BATCH_JOB_ARRAY_INDEX=0 is shard 1; with
    neither set, or an index past N, exit 2 and nothing written."""
    source = write_csv(tmp_path / "input.csv", make_rows(8, regions=REGIONS[:2]))
    common = ("run", source, "--emulate", "--shard", "auto/2", "--log-format", "json")
    k8s = run_cli(*common, env=aws_env(JOB_COMPLETION_INDEX="1"))
    assert k8s.returncode == 0, k8s.stderr
    batch = run_cli(*common, env=aws_env(AWS_BATCH_JOB_ARRAY_INDEX="0"))
    assert batch.returncode == 0, batch.stderr
    assert load_shard_record(_results(source, 2, 2)).index == 2
    assert load_shard_record(_results(source, 1, 2)).index == 1
    rows = sorted(int(line["row"]) for i in (1, 2) for line in read_csv(_results(source, i, 2)))
    assert rows == list(range(1, 9))
    before = sorted(path.name for path in tmp_path.iterdir())
    for env in (aws_env(), aws_env(JOB_COMPLETION_INDEX="2")):
        refused = run_cli(*common, env=env)
        assert refused.returncode == 2
        assert "--shard auto/2" in refused.stderr
        assert "Traceback" not in refused.stderr
    assert sorted(path.name for path in tmp_path.iterdir()) == before


def test_invalid_rows_are_recorded_by_shard_1_only(tmp_path: Path) -> None:
    """--skip-invalid: the invalid rows (which may have no usable region) are shard 1's lines, so the
    merge still has one line per input row."""
    rows = make_rows(12, regions=REGIONS[:3])
    rows[4]["DefaultSessionExpiryMinutes"] = "soon"
    rows[9]["Region"] = "not a region"
    source = write_csv(tmp_path / "input.csv", rows)
    for index in (1, 2, 3):
        done = run_cli(
            "run", source, "--emulate", "--skip-invalid", "--shard", f"{index}/3", "--log-format", "json"
        )
        assert done.returncode == (1 if index == 1 else 0), done.stderr  # invalid rows are not ok
    lines = {index: read_csv(_results(source, index, 3)) for index in (1, 2, 3)}
    invalid = {index: [int(ln["row"]) for ln in lines[index] if ln["status"] == "invalid"] for index in lines}
    assert invalid == {1: [5, 10], 2: [], 3: []}
    assert load_shard_record(_results(source, 1, 3)).shard_rows == len(read_csv(_results(source, 1, 3)))
    merged = run_cli("merge", *(_results(source, index, 3) for index in (1, 2, 3)))
    assert merged.returncode == 1, merged.stderr
    statuses = [line["status"] for line in read_csv(tmp_path / "input.results.csv")]
    assert len(statuses) == 12
    assert statuses.count("invalid") == 2


def test_summary_and_plan_name_the_shard(tmp_path: Path) -> None:
    """The summary names the shard and every shard's rows; its resume command keeps --shard and its
    retry command (on the shard's failure report, all of which this process should take) drops it;
    plan --shard writes <stem>.plan.shard-I-of-N.csv with this shard's rows only."""
    rows = make_rows(9, regions=REGIONS[:3])
    source = write_csv(tmp_path / "input.csv", rows)
    plan = run_cli("plan", source, "--emulate", "--shard", "1/3", "--log-format", "json")
    assert plan.returncode == 0, plan.stderr
    planned = read_csv(shard_path(tmp_path / "input.plan.csv", ShardSpec(index=1, count=3)))
    assert len(planned) == 3
    assert len({line["Region"] for line in planned}) == 1
    # ap-southeast-2 sorts first among three equal domains, so it is shard 1's; row 3 is unknown there.
    known = write_csv(tmp_path / "known.csv", [row for i, row in enumerate(rows) if i != 2])
    with emulator("--connectors", str(known)) as emu:
        done = run_cli(
            "run", source, "--endpoint-url", emu.url, "--region", "us-east-1", "--shard", "1/3",
            "--log-format", "json",
        )  # fmt: skip
    assert done.returncode == 1, done.stdout + done.stderr
    assert "  shard:    1/3: 3 of 9 rows (per shard: 3, 3, 3)" in done.stdout
    retry = next(line for line in done.stdout.splitlines() if line.startswith("  retry:"))
    resume = next(line for line in done.stdout.splitlines() if line.startswith("  or:"))
    assert "--shard" not in retry
    assert "input.failed.shard-1-of-3.csv" in retry
    assert "--shard 1/3" in resume


def test_rollback_and_delete_take_shards_too(tmp_path: Path) -> None:
    """A sharded rollback of a --snapshot run writes <stem>.rollback.shard-I-of-N.csv, which merge joins
    into <stem>.rollback.csv; a sharded delete writes the run's shard names; every row once."""
    source = write_csv(tmp_path / "input.csv", make_rows(8, regions=REGIONS[:2]))
    snapshot = run_cli("run", source, "--emulate", "--snapshot", "--log-format", "json")
    assert snapshot.returncode == 0, snapshot.stderr
    results = tmp_path / "input.results.csv"
    for index in (1, 2):
        done = run_cli("rollback", results, "--emulate", "--shard", f"{index}/2", "--log-format", "json")
        assert done.returncode == 0, done.stdout + done.stderr
    shards = [tmp_path / f"input.results.rollback.shard-{index}-of-2.csv" for index in (1, 2)]
    merged = run_cli("merge", *shards)
    assert merged.returncode == 0, merged.stderr
    lines = read_csv(tmp_path / "input.results.rollback.csv")
    assert [(line["row"], line["action"]) for line in lines] == [(str(n), "deleted") for n in range(1, 9)]
    assert (tmp_path / "input.results.rollback.failed.csv").read_text().count("\n") == 1
    for index in (1, 2):
        done = run_cli("delete", source, "--emulate", "--shard", f"{index}/2", "--log-format", "json")
        assert done.returncode == 0, done.stderr
    rows = sorted(int(line["row"]) for index in (1, 2) for line in read_csv(_results(source, index, 2)))
    assert rows == list(range(1, 9))
