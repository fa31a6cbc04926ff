"""Rollouts end to end (issue 5, docs/reference.md §8): the real CLI against a real emulator, over loopback
HTTP.

validate, plan, --snapshot + rollback, delete, canary, waves, --max-failures, --skip-unchanged, and the
per-(profile, region) lanes — each checked by what the emulator saw, not only by what the CLI says.
"""

from __future__ import annotations

import itertools
import json
import math
import subprocess
import time
from collections.abc import Mapping, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

from tests.e2e.harness import (
    HEADER,
    EmulatorProcess,
    aws_env,
    emulator,
    expected_proxy,
    make_rows,
    read_csv,
    run_cli,
    write_csv,
)
from tests.e2e.printed import printed_argv

REGION = "us-east-1"
PUT = "PutVoiceConnectorProxy"
DELETE = "DeleteVoiceConnectorProxy"


def _cli(
    emu: EmulatorProcess, *args: str | Path, env: Mapping[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """``batchproxy ARGS`` against ``emu``, unthrottled on the client side."""
    return run_cli(*args, "--endpoint-url", emu.url, "--rate", "0", "--region", REGION, env=env)


def _requests(emu: EmulatorProcess, operation: str) -> int:
    """Requests of ``operation`` the emulator served, whatever their outcome."""
    return sum(emu.stats()["by_operation"].get(operation, {}).values())


def _writes(emu: EmulatorProcess) -> dict[str, int]:
    """Put and Delete requests the emulator served (any outcome), by operation."""
    return {op: _requests(emu, op) for op in (PUT, DELETE)}


def _statuses(results: Sequence[Mapping[str, str]]) -> list[str]:
    return [line["status"] for line in results]


def _connectors_file(path: Path, rows: Sequence[Mapping[str, str]]) -> Path:
    """A ``--connectors`` seed file naming the connectors of ``rows``."""
    return write_csv(path, rows, header=HEADER)


# -- validate -------------------------------------------------------------------------------------


def test_validate_accepts_a_valid_file_and_sends_nothing(tmp_path: Path) -> None:
    """`validate` on a valid file: exit 0, the row count on stdout, no results file, no request."""
    source = write_csv(tmp_path / "input.csv", make_rows(12))
    done = run_cli("validate", source)
    assert done.returncode == 0, done.stderr
    assert "12 rows, all valid" in done.stdout
    assert sorted(p.name for p in tmp_path.iterdir()) == ["input.csv"]


def test_validate_reports_exactly_what_run_reports(tmp_path: Path) -> None:
    """`validate` on an invalid file: exit 2 and the same `row N, column C` lines as `run`, nothing sent."""
    rows = make_rows(12)
    rows[3]["DefaultSessionExpiryMinutes"] = "ten"
    rows[7]["PhoneNumberPoolCountries"] = "us"
    source = write_csv(tmp_path / "input.csv", rows)
    with emulator("--connectors", str(source)) as emu:
        checked = run_cli("validate", source)
        ran = _cli(emu, "run", source)
        assert emu.stats()["total"] == 0
    assert checked.returncode == ran.returncode == 2
    # run (proxy) first warns that AWS ended proxy sessions; the rest is the same, line for line.
    warned, *rest = ran.stderr.splitlines(keepends=True)
    assert "AWS ended support for proxy sessions on 2026-04-07" in warned
    assert checked.stderr == "".join(rest)
    problems = [line for line in checked.stderr.splitlines() if line.startswith("row ")]
    assert [p.split(":")[0] for p in problems] == [
        "row 4, column DefaultSessionExpiryMinutes",
        "row 8, column PhoneNumberPoolCountries",
    ]
    assert not (tmp_path / "input.results.csv").exists()


# -- plan -----------------------------------------------------------------------------------------


def test_plan_classifies_create_change_unchanged_and_error_without_writing(tmp_path: Path) -> None:
    """`plan` names each row's action and exact changes, by the §8 comparison rules, and writes nothing.

    Rows 1-4 get a proxy from a first run; the plan input then changes rows 1-2, restates rows 3-4
    in forms that compare equal (countries reordered, empty Disabled = false), has rows 5-6 with no
    proxy yet and row 7 on a connector that does not exist.
    """
    base = make_rows(7)
    base[0].update(DefaultSessionExpiryMinutes="30", FallBackPhoneNumber="+12065550100", Disabled="true")
    base[1].update(PhoneNumberPoolCountries="US;CA", FallBackPhoneNumber="", Disabled="false")
    base[2].update(PhoneNumberPoolCountries="GB;IE", Disabled="false")
    base[3].update(PhoneNumberPoolCountries="US", Disabled="", FallBackPhoneNumber="")
    seed = _connectors_file(tmp_path / "connectors.csv", base[:6])
    with emulator("--connectors", str(seed)) as emu:
        first = _cli(emu, "run", write_csv(tmp_path / "first.csv", base[:4]))
        assert first.returncode == 0, first.stderr
        before = emu.proxies()
        writes = emu.stats()["accepted_writes"]

        wanted = [dict(row) for row in base]
        wanted[0].update(DefaultSessionExpiryMinutes="45", FallBackPhoneNumber="", Disabled="")
        wanted[1].update(PhoneNumberPoolCountries="US;GB", FallBackPhoneNumber="+442071234567")
        wanted[2].update(PhoneNumberPoolCountries="IE;GB", Disabled="FALSE")
        wanted[3].update(Disabled="false")
        source = write_csv(tmp_path / "input.csv", wanted)
        done = _cli(emu, "plan", source)

        assert emu.stats()["accepted_writes"] == writes
        assert _writes(emu) == {PUT: 4, DELETE: 0}  # the first run's puts, no more
        assert emu.proxies() == before
    assert done.returncode == 1, done.stderr  # one row is an error
    plan = read_csv(tmp_path / "input.plan.csv")
    assert list(plan[0]) == ["row", *HEADER, "action", "changes", "error_code", "error_message"]
    assert [(line["row"], line["action"]) for line in plan] == [
        ("1", "change"),
        ("2", "change"),
        ("3", "unchanged"),
        ("4", "unchanged"),
        ("5", "create"),
        ("6", "create"),
        ("7", "error"),
    ]
    assert plan[0]["changes"] == (
        "DefaultSessionExpiryMinutes: 30 -> 45; FallBackPhoneNumber: +12065550100 -> (none); "
        "Disabled: true -> false"
    )
    assert plan[1]["changes"] == (
        "PhoneNumberPoolCountries: CA;US -> GB;US; FallBackPhoneNumber: (none) -> +442071234567"
    )
    assert [line["changes"] for line in plan[2:4]] == ["", ""]
    assert (plan[6]["error_code"], plan[6]["VoiceConnectorId"]) == ("NotFoundException", "vc000006")
    assert [line[c] for line in plan for c in HEADER] == [row[c] for row in wanted for c in HEADER]
    assert "plan: 2 change, 2 create, 1 error, 2 unchanged" in done.stdout


def test_plan_exits_0_when_no_row_is_an_error(tmp_path: Path) -> None:
    """`plan` exits 0 when every row is create/change/unchanged, and reads through the emulator only."""
    rows = make_rows(8)
    source = write_csv(tmp_path / "input.csv", rows)
    with emulator("--connectors", str(source)) as emu:
        done = _cli(emu, "plan", source)
        assert _writes(emu) == {PUT: 0, DELETE: 0}
        assert emu.stats()["accepted_writes"] == {}
    assert done.returncode == 0, done.stderr
    assert {line["action"] for line in read_csv(tmp_path / "input.plan.csv")} == {"create"}


# -- snapshot and rollback ------------------------------------------------------------------------


def _snapshot_scenario(tmp_path: Path, emu: EmulatorProcess) -> tuple[Path, dict[Any, Any]]:
    """Give rows 1-6 of 12 a proxy, then `run --snapshot` new settings on all 12; the state before."""
    rows = make_rows(12)
    assert _cli(emu, "run", write_csv(tmp_path / "setup.csv", rows[:6])).returncode == 0
    before = emu.proxies()
    changed = [dict(row, DefaultSessionExpiryMinutes="720", PhoneNumberPoolCountries="FR") for row in rows]
    source = write_csv(tmp_path / "input.csv", changed)
    done = _cli(emu, "run", source, "--snapshot")
    assert done.returncode == 0, done.stderr
    assert emu.proxies() == {(REGION, r["VoiceConnectorId"]): expected_proxy(r) for r in changed}
    return tmp_path / "input.results.csv", before


def test_snapshot_records_the_previous_proxy_or_none(tmp_path: Path) -> None:
    """`run --snapshot` writes `previous_state`: the Proxy as returned (compact JSON), or `none`."""
    seed = _connectors_file(tmp_path / "connectors.csv", make_rows(12))
    with emulator("--connectors", str(seed)) as emu:
        results, before = _snapshot_scenario(tmp_path, emu)
    lines = read_csv(results)
    for line in lines[:6]:
        recorded = json.loads(line["previous_state"])
        assert recorded == before[(REGION, line["VoiceConnectorId"])]
        assert line["previous_state"] == json.dumps(recorded, separators=(",", ":"))
    assert [line["previous_state"] for line in lines[6:]] == ["none"] * 6


def test_rollback_restores_the_state_before_the_run(tmp_path: Path) -> None:
    """`rollback RESULTS.csv` puts every recorded proxy back and deletes the ones that were not there.

    Its own results go to `<stem of RESULTS>.rollback.csv` (docs/reference.md §8), and a second
    `rollback --resume` finds every row final in that journal and sends nothing.
    """
    seed = _connectors_file(tmp_path / "connectors.csv", make_rows(12))
    with emulator("--connectors", str(seed)) as emu:
        results, before = _snapshot_scenario(tmp_path, emu)
        writes = _writes(emu)
        done = _cli(emu, "rollback", results)
        assert done.returncode == 0, done.stdout + done.stderr
        assert emu.proxies() == before
        assert _writes(emu) == {PUT: writes[PUT] + 6, DELETE: writes[DELETE] + 6}
        again = _cli(emu, "rollback", results, "--resume")
        assert again.returncode == 0, again.stderr
        assert _writes(emu) == {PUT: writes[PUT] + 6, DELETE: writes[DELETE] + 6}
    rollback = read_csv(tmp_path / "input.results.rollback.csv")
    assert _statuses(rollback) == ["ok"] * 12
    assert [line["action"] for line in rollback] == ["restored"] * 6 + ["deleted"] * 6
    assert read_csv(tmp_path / "input.results.rollback.failed.csv") == []
    assert "12 already final" in again.stdout


def test_rollback_resumes_after_a_crash(tmp_path: Path) -> None:
    """A rollback cut short (its results file holds only the first lines) is finished by `--resume`.

    Only the rows without a line are sent again, and the state ends exactly as before the run.
    """
    seed = _connectors_file(tmp_path / "connectors.csv", make_rows(12))
    with emulator("--connectors", str(seed)) as emu:
        results, before = _snapshot_scenario(tmp_path, emu)
        rollback_path = tmp_path / "input.results.rollback.csv"
        assert _cli(emu, "rollback", results, "--concurrency", "1").returncode == 0
        # As if killed after four lines were on disk: the last eight connectors go back to the run's value.
        text = rollback_path.read_bytes().split(b"\r\n")
        rollback_path.write_bytes(b"\r\n".join(text[:5]) + b"\r\n")
        rerun = [
            dict(row, DefaultSessionExpiryMinutes="720", PhoneNumberPoolCountries="FR")
            for row in make_rows(12)[4:]
        ]
        assert _cli(emu, "run", write_csv(tmp_path / "redo.csv", rerun)).returncode == 0
        writes = _writes(emu)
        done = _cli(emu, "rollback", results, "--resume")
        assert done.returncode == 0, done.stderr
        assert emu.proxies() == before
        assert _writes(emu) == {PUT: writes[PUT] + 2, DELETE: writes[DELETE] + 6}
    assert [line["row"] for line in read_csv(rollback_path)] == [str(n) for n in range(1, 13)]


def test_rollback_refuses_results_without_a_snapshot(tmp_path: Path) -> None:
    """A results file from a run without --snapshot is refused as a whole: exit 2, nothing sent."""
    rows = make_rows(6)
    source = write_csv(tmp_path / "input.csv", rows)
    with emulator("--connectors", str(source)) as emu:
        assert _cli(emu, "run", source).returncode == 0
        writes = _writes(emu)
        done = _cli(emu, "rollback", tmp_path / "input.results.csv")
        assert _writes(emu) == writes
        assert emu.stats()["total"] == writes[PUT]
    assert done.returncode == 2
    assert "previous_state" in done.stderr
    assert "--snapshot" in done.stderr
    assert not (tmp_path / "input.results.rollback.csv").exists()


def test_rollback_leaves_rows_the_run_did_not_change(tmp_path: Path) -> None:
    """Only rows whose status was `ok` are restored; a failed row gets no request and a `skipped` line.

    The retry command the summary prints is accepted as printed (a failure report has no snapshot,
    so it must go on from the rollback's own journal) and sends nothing more.
    """
    rows = make_rows(6)
    seed = _connectors_file(tmp_path / "connectors.csv", rows[:5])
    source = write_csv(tmp_path / "input.csv", rows)
    with emulator("--connectors", str(seed)) as emu:
        assert _cli(emu, "run", source, "--snapshot").returncode == 1  # row 6: no such connector
        writes = _writes(emu)
        done = _cli(emu, "rollback", tmp_path / "input.results.csv")
        assert _writes(emu) == {PUT: writes[PUT], DELETE: writes[DELETE] + 5}
        assert emu.proxies() == {}
        again = subprocess.run(
            printed_argv(done.stdout, "retry"),
            env=aws_env(),
            capture_output=True,
            text=True,
            timeout=60,
            stdin=subprocess.DEVNULL,
            check=False,
        )
        assert again.returncode == 1, again.stdout + again.stderr  # not 2: accepted
        assert _writes(emu) == {PUT: writes[PUT], DELETE: writes[DELETE] + 5}
    lines = read_csv(tmp_path / "input.results.rollback.csv")
    assert _statuses(lines) == ["ok"] * 5 + ["skipped"]
    assert lines[5]["attempts"] == "0"
    assert done.returncode == 1, done.stderr


# -- canary ---------------------------------------------------------------------------------------


def test_canary_failure_stops_after_exactly_the_canary_rows(tmp_path: Path) -> None:
    """`--canary 5` with an unknown connector in row 3: five puts, the other rows `skipped`, exit 1.

    `--resume` later sends exactly the 25 skipped rows; the failed row stays failed (exit 1, since the
    results file still holds it) until the connector exists and `--resume --retry-failed` sends it.
    """
    rows = make_rows(30)
    seed = _connectors_file(tmp_path / "connectors.csv", [r for i, r in enumerate(rows) if i != 2])
    source = write_csv(tmp_path / "input.csv", rows)
    with emulator("--connectors", str(seed)) as emu:
        done = _cli(emu, "run", source, "--canary", "5")
        assert emu.stats()["by_operation"][PUT] == {"200": 4, "404": 1}
        results = read_csv(tmp_path / "input.results.csv")
        continued = _cli(emu, "run", source, "--resume")
        assert emu.stats()["by_operation"][PUT] == {"200": 29, "404": 1}
        emu.add_connectors([(REGION, "vc000002")])
        resumed = _cli(emu, "run", source, "--resume", "--retry-failed")
        assert emu.stats()["by_operation"][PUT] == {"200": 30, "404": 1}
        assert emu.proxies() == {(REGION, r["VoiceConnectorId"]): expected_proxy(r) for r in rows}
    assert done.returncode == 1
    assert "canary failed" in done.stdout
    assert _statuses(results) == ["ok", "ok", "failed", "ok", "ok"] + ["skipped"] * 25
    assert results[2]["error_code"] == "NotFoundException"
    assert {r["attempts"] for r in results[5:]} == {"0"}
    assert continued.returncode == 1, continued.stdout
    assert "1 row(s) already not ok from an earlier run" in continued.stdout
    assert resumed.returncode == 0, resumed.stdout + resumed.stderr
    assert _statuses(read_csv(tmp_path / "input.results.csv")) == ["ok"] * 30


def test_passing_canary_lets_the_run_finish(tmp_path: Path) -> None:
    """A canary whose rows all succeed is followed by the rest of the rows: every row ok, exit 0."""
    rows = make_rows(20)
    source = write_csv(tmp_path / "input.csv", rows)
    with emulator("--connectors", str(source)) as emu:
        done = _cli(emu, "run", source, "--canary", "5")
        assert emu.stats()["by_operation"][PUT] == {"200": 20}
    assert done.returncode == 0, done.stderr


# -- max-failures ---------------------------------------------------------------------------------


def _bad_every_third_of_ten(count: int) -> tuple[list[dict[str, str]], set[int]]:
    """``count`` rows of which 30% (indexes ending in 1, 4, 7) name connectors that do not exist."""
    rows = make_rows(count)
    return rows, {i for i in range(count) if i % 10 in (1, 4, 7)}


def test_max_failures_percent_aborts_by_the_rounding_rule(tmp_path: Path) -> None:
    """`--max-failures 10%` of 95 rows allows 9 (rounded down); the run aborts at the 10th failure.

    Rows in flight at the abort keep their real outcome, so failed is 10 … 9 + concurrency; every
    other row is `skipped` without a request, and that is well before the end of the file.
    """
    concurrency = 4
    rows, bad = _bad_every_third_of_ten(95)
    seed = _connectors_file(tmp_path / "connectors.csv", [r for i, r in enumerate(rows) if i not in bad])
    source = write_csv(tmp_path / "input.csv", rows)
    with emulator("--connectors", str(seed), "--latency", "10ms") as emu:
        done = _cli(emu, "run", source, "--max-failures", "10%", "--concurrency", str(concurrency))
        puts = emu.stats()["by_operation"][PUT]
    threshold = math.floor(95 * 10 / 100)
    results = read_csv(tmp_path / "input.results.csv")
    failed, ok, skipped = (_statuses(results).count(s) for s in ("failed", "ok", "skipped"))
    assert done.returncode == 1
    assert f"threshold {threshold}" in done.stdout
    assert threshold + 1 <= failed <= threshold + concurrency
    assert (ok, failed) == (puts.get("200", 0), puts["404"])
    assert skipped == 95 - ok - failed
    assert skipped >= 40  # 10 failures come within the first ~35 rows
    assert all(
        r["attempts"] == "0" and r["error_code"] == "NotAttempted"
        for r in results
        if r["status"] == "skipped"
    )


def test_max_failures_count_aborts_at_the_next_failure(tmp_path: Path) -> None:
    """`--max-failures 3` with one request at a time: exactly 4 failed, nothing after the 4th bad row.

    `--resume --retry-failed` (no threshold) later sends the rest; the bad rows fail again, the others end ok.
    """
    rows, bad = _bad_every_third_of_ten(40)
    seed = _connectors_file(tmp_path / "connectors.csv", [r for i, r in enumerate(rows) if i not in bad])
    source = write_csv(tmp_path / "input.csv", rows)
    with emulator("--connectors", str(seed)) as emu:
        done = _cli(emu, "run", source, "--max-failures", "3", "--concurrency", "1")
        assert _requests(emu, PUT) == 12  # rows 1-12: the 4th bad connector is row 12
        results = read_csv(tmp_path / "input.results.csv")
        resumed = _cli(emu, "run", source, "--resume")
        assert _requests(emu, PUT) == 40
    assert done.returncode == 1
    statuses = _statuses(results)
    assert statuses.count("failed") == 4
    assert statuses[12:] == ["skipped"] * 28
    assert resumed.returncode == 1
    final = read_csv(tmp_path / "input.results.csv")
    assert [i for i, line in enumerate(final) if line["status"] != "ok"] == sorted(bad)


# -- waves ----------------------------------------------------------------------------------------


def test_waves_arrive_in_waves_separated_by_the_pause(tmp_path: Path) -> None:
    """`--waves 1,10,10% --pause 0.2s` on 40 rows: waves of 1, 10, then 4 (10%) repeating.

    Measured at the emulator: a gap of at least the pause exactly after requests 1, 11, 15, … 39,
    and no such gap inside a wave.
    """
    rows = make_rows(40)
    source = write_csv(tmp_path / "input.csv", rows)
    with emulator("--connectors", str(source)) as emu:
        done = _cli(emu, "run", source, "--waves", "1,10,10%", "--pause", "0.2s")
        arrivals = sorted(at for at, _op, _outcome in emu.stats(arrivals=True)["arrivals"])
    assert done.returncode == 0, done.stderr
    assert len(arrivals) == 40
    gaps_after = [i + 1 for i, (a, b) in enumerate(itertools.pairwise(arrivals)) if b - a >= 0.2]
    assert gaps_after == [1, 11, 15, 19, 23, 27, 31, 35, 39]


def test_no_pause_after_the_last_wave(tmp_path: Path) -> None:
    """When the rows end exactly at a wave boundary the run ends there: no pause after the last wave."""
    rows = make_rows(10)
    source = write_csv(tmp_path / "input.csv", rows)
    with emulator("--connectors", str(source)) as emu:
        started = time.monotonic()
        done = _cli(emu, "run", source, "--waves", "5", "--pause", "3s")
        took = time.monotonic() - started
    assert done.returncode == 0, done.stderr
    assert 3.0 <= took < 5.5, took  # one pause (plus start-up), not two


def test_approve_without_a_terminal_is_refused(tmp_path: Path) -> None:
    """`--approve` with stdin not a terminal: exit 2 with a message saying why, no request, no results."""
    source = write_csv(tmp_path / "input.csv", make_rows(5))
    with emulator("--connectors", str(source)) as emu:
        done = _cli(emu, "run", source, "--waves", "2", "--approve")
        assert emu.stats()["total"] == 0
    assert done.returncode == 2
    assert "--approve" in done.stderr
    assert "terminal" in done.stderr
    assert not (tmp_path / "input.results.csv").exists()


# -- skip-unchanged and read-back -----------------------------------------------------------------


def test_skip_unchanged_puts_only_rows_that_differ(tmp_path: Path) -> None:
    """`run --skip-unchanged` reads each proxy first and puts only the rows whose settings differ.

    Unchanged rows are `ok` with action `unchanged`; rows with no proxy yet are put like changed ones.
    """
    rows = make_rows(12)
    source = write_csv(tmp_path / "first.csv", rows[:8])
    seed = _connectors_file(tmp_path / "connectors.csv", rows)
    with emulator("--connectors", str(seed)) as emu:
        assert _cli(emu, "run", source).returncode == 0
        wanted = [dict(row) for row in rows]
        for row in wanted[:3]:
            row["DefaultSessionExpiryMinutes"] = "600"
        wanted[5]["PhoneNumberPoolCountries"] = ";".join(
            reversed(wanted[5]["PhoneNumberPoolCountries"].split(";"))
        )
        done = _cli(emu, "run", write_csv(tmp_path / "input.csv", wanted), "--skip-unchanged")
        assert emu.stats()["accepted_writes"] == {PUT: 8 + 3 + 4}
        assert emu.proxies() == {
            (REGION, r["VoiceConnectorId"]): expected_proxy(r) for r in wanted if r is not wanted[5]
        } | {(REGION, "vc000005"): expected_proxy(rows[5])}
    assert done.returncode == 0, done.stderr
    results = read_csv(tmp_path / "input.results.csv")
    assert _statuses(results) == ["ok"] * 12
    assert [line["action"] for line in results] == [""] * 3 + ["unchanged"] * 5 + [""] * 4


# -- delete ---------------------------------------------------------------------------------------


def test_delete_takes_proxies_down_with_only_id_and_region(tmp_path: Path) -> None:
    """`delete` of a CSV with just VoiceConnectorId and Region removes those proxies.

    Results and failure report go to `<stem>.results.csv` / `<stem>.failed.csv`; an unknown connector
    fails with NotFoundException, and the connectors not listed keep their proxy.
    """
    rows = make_rows(10)
    source = write_csv(tmp_path / "setup.csv", rows)
    with emulator("--connectors", str(source)) as emu:
        assert _cli(emu, "run", source).returncode == 0
        targets = [{"VoiceConnectorId": r["VoiceConnectorId"], "Region": r["Region"]} for r in rows[:6]]
        targets.append({"VoiceConnectorId": "vc-unknown", "Region": REGION})
        listing = write_csv(tmp_path / "takedown.csv", targets, header=("VoiceConnectorId", "Region"))
        done = _cli(emu, "delete", listing)
        assert emu.proxies() == {(REGION, r["VoiceConnectorId"]): expected_proxy(r) for r in rows[6:]}
        assert emu.stats()["by_operation"][DELETE] == {"204": 6, "404": 1}
    assert done.returncode == 1
    results = read_csv(tmp_path / "takedown.results.csv")
    assert list(results[0])[:3] == ["row", "VoiceConnectorId", "Region"]
    assert _statuses(results) == ["ok"] * 6 + ["failed"]
    failures = read_csv(tmp_path / "takedown.failed.csv")
    assert [(f["VoiceConnectorId"], f["error_code"]) for f in failures] == [
        ("vc-unknown", "NotFoundException")
    ]


def test_delete_with_only_the_id_column_uses_the_run_region(tmp_path: Path) -> None:
    """A one-column CSV (VoiceConnectorId) deletes in `--region`; every row ok, exit 0."""
    rows = make_rows(5)
    source = write_csv(tmp_path / "setup.csv", rows)
    with emulator("--connectors", str(source)) as emu:
        assert _cli(emu, "run", source).returncode == 0
        ids = [{"VoiceConnectorId": r["VoiceConnectorId"]} for r in rows]
        done = _cli(emu, "delete", write_csv(tmp_path / "ids.csv", ids, header=("VoiceConnectorId",)))
        assert emu.proxies() == {}
    assert done.returncode == 0, done.stderr
    assert _statuses(read_csv(tmp_path / "ids.results.csv")) == ["ok"] * 5


def test_delete_with_snapshot_can_be_rolled_back(tmp_path: Path) -> None:
    """`delete --snapshot` records each proxy it takes down; `rollback` of its results puts them back."""
    rows = make_rows(8)
    source = write_csv(tmp_path / "setup.csv", rows)
    with emulator("--connectors", str(source)) as emu:
        assert _cli(emu, "run", source).returncode == 0
        before = emu.proxies()
        targets = [{"VoiceConnectorId": r["VoiceConnectorId"], "Region": r["Region"]} for r in rows]
        listing = write_csv(tmp_path / "takedown.csv", targets, header=("VoiceConnectorId", "Region"))
        assert _cli(emu, "delete", listing, "--snapshot").returncode == 0
        assert emu.proxies() == {}
        done = _cli(emu, "rollback", tmp_path / "takedown.results.csv")
        assert done.returncode == 0, done.stdout + done.stderr
        assert emu.proxies() == before
    assert [line["action"] for line in read_csv(tmp_path / "takedown.results.rollback.csv")] == [
        "restored"
    ] * 8


# -- many regions and profiles --------------------------------------------------------------------


def _finished(line: Mapping[str, str]) -> datetime:
    return datetime.fromisoformat(line["finished_at"].replace("Z", "+00:00"))


def test_a_slow_region_does_not_hold_back_the_others(tmp_path: Path) -> None:
    """Three regions, eu-west-2 throttled to 5/s at the emulator, no client ceiling.

    The two fast regions finish within ~2 s (measured per row, and at the emulator: all their puts
    arrive in the first 2 s) while eu-west-2 takes at least (rows - burst) / 5 s; the summary on
    stdout has a line per region.
    """
    regions = ("us-east-1", "eu-west-2", "ap-southeast-1")
    per_region = 25
    rows = make_rows(per_region * 3, regions=regions)
    source = write_csv(tmp_path / "input.csv", rows)
    with emulator("--connectors", str(source), "--region-rate", "eu-west-2=5") as emu:
        done = _cli(emu, "run", source)
        arrivals = emu.stats(arrivals=True)["arrivals"]
    assert done.returncode == 0, done.stderr
    results = read_csv(tmp_path / "input.results.csv")
    start = min(_finished(line) for line in results)
    last = {region: max(_finished(r) for r in results if r["Region"] == region) for region in regions}
    spans = {region: (moment - start).total_seconds() for region, moment in last.items()}
    assert spans["us-east-1"] < 2.0, spans
    assert spans["ap-southeast-1"] < 2.0, spans
    assert spans["eu-west-2"] >= (per_region - 5) / 5 - 0.5, spans
    accepted = sorted(at for at, _op, outcome in arrivals if outcome == "200")
    first = accepted[0]
    assert sum(1 for at in accepted if at - first < 2.0) >= 2 * per_region
    assert accepted[-1] - first >= (per_region - 5) / 5 - 0.5
    by_region = done.stdout.split("by region:")[1].splitlines()
    for region in regions:
        assert any(line.split()[:2] == [region, f"{per_region}/{per_region}"] for line in by_region), (
            done.stdout
        )


def _profiles_env(tmp_path: Path) -> dict[str, str]:
    """An environment whose AWS config names two profiles, alpha and beta, with different keys."""
    credentials = tmp_path / "credentials"
    credentials.write_text(
        "[alpha]\naws_access_key_id = AKIDALPHATEST000001\naws_secret_access_key = alpha-secret\n"
        "[beta]\naws_access_key_id = AKIDBETATEST0000002\naws_secret_access_key = beta-secret\n"
    )
    config = tmp_path / "config"
    config.write_text(f"[profile alpha]\nregion = {REGION}\n[profile beta]\nregion = {REGION}\n")
    env = {k: v for k, v in aws_env().items() if k not in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY")}
    env.update(AWS_CONFIG_FILE=str(config), AWS_SHARED_CREDENTIALS_FILE=str(credentials))
    return env


def _with_profiles(rows: Sequence[Mapping[str, str]], order: Sequence[str]) -> list[dict[str, str]]:
    return [dict(row, Profile=order[i % len(order)]) for i, row in enumerate(rows)]


def test_each_profile_uses_its_own_credentials(tmp_path: Path) -> None:
    """The `Profile` column picks the credentials: with beta's key refused, exactly beta's rows fail."""
    rows = _with_profiles(
        make_rows(20, regions=("us-east-1", "eu-west-2")), ("alpha", "alpha", "beta", "beta")
    )
    source = write_csv(tmp_path / "input.csv", rows, header=(*HEADER, "Profile"))
    with emulator("--connectors", str(source), "--deny-access-key", "AKIDBETATEST0000002") as emu:
        done = _cli(emu, "run", source, env=_profiles_env(tmp_path))
        assert emu.stats()["by_operation"][PUT] == {"200": 10, "403": 10}
    assert done.returncode == 1
    results = read_csv(tmp_path / "input.results.csv")
    assert {(line["Profile"], line["status"], line["error_code"]) for line in results} == {
        ("alpha", "ok", ""),
        ("beta", "failed", "AccessDeniedException"),
    }


def test_one_profile_refused_first_does_not_stop_the_other(tmp_path: Path) -> None:
    """beta's rows come first and its key is refused: its rows stop after a few requests (`failed`,
    then `skipped` without a request, resumable), while every alpha row is still applied."""
    rows = [dict(row, Profile="beta" if i < 15 else "alpha") for i, row in enumerate(make_rows(30))]
    source = write_csv(tmp_path / "input.csv", rows, header=(*HEADER, "Profile"))
    with emulator("--connectors", str(source), "--deny-access-key", "AKIDBETATEST0000002") as emu:
        done = _cli(emu, "run", source, "--concurrency", "4", env=_profiles_env(tmp_path))
        refused = emu.stats()["by_operation"][PUT]["403"]
        assert emu.proxies() == {(REGION, r["VoiceConnectorId"]): expected_proxy(r) for r in rows[15:]}
    assert done.returncode == 1
    assert 1 <= refused <= 4 + 4, refused  # the breaker's threshold, plus what was in flight
    results = read_csv(tmp_path / "input.results.csv")
    assert _statuses(results)[15:] == ["ok"] * 15
    beta = results[:15]
    assert {line["status"] for line in beta} == {"failed", "skipped"}
    skipped = [line for line in beta if line["status"] == "skipped"]
    assert {line["attempts"] for line in skipped} == {"0"}
    assert all("profile beta" in line["error_message"] for line in skipped)


def test_each_profile_and_region_is_its_own_rate_domain(tmp_path: Path) -> None:
    """`--rate 5 --burst 1` applies per (profile, region): two profiles' 10 rows each take ~2 s, not ~4 s."""
    rows = _with_profiles(make_rows(20), ("alpha", "beta"))
    source = write_csv(tmp_path / "input.csv", rows, header=(*HEADER, "Profile"))
    with emulator("--connectors", str(source)) as emu:
        done = run_cli(
            "run",
            source,
            "--endpoint-url",
            emu.url,
            "--region",
            REGION,
            "--rate",
            "5",
            "--burst",
            "1",
            env=_profiles_env(tmp_path),
        )
        arrivals = sorted(at for at, _op, _outcome in emu.stats(arrivals=True)["arrivals"])
    assert done.returncode == 0, done.stderr
    span = arrivals[-1] - arrivals[0]
    assert 1.4 <= span < 3.0, span  # one shared bucket would need 19 / 5 = 3.8 s
