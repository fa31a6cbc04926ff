"""``batchproxy run`` end to end (issue 3's acceptance): the real CLI against a real emulator subprocess.

Every test starts ``batchproxy emulator`` on 127.0.0.1, runs the CLI to completion as a subprocess and
judges it by its exit code, its files, its streams and what the emulator saw on the wire.
"""

from __future__ import annotations

import json
import math
import shutil
import stat
import subprocess
from collections import Counter
from collections.abc import Mapping, Sequence
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

OPERATION = "PutVoiceConnectorProxy"
REGIONS = ("us-east-1", "eu-west-2", "ap-southeast-2")
# docs/reference.md §3: after `row` and the input columns, at least these, in this order.
RESULT_COLUMNS = [
    "status",
    "attempts",
    "http_status",
    "error_code",
    "error_message",
    "request_id",
    "duration_ms",
    "finished_at",
]
# docs/reference.md §7: the failure report's columns after the input columns.
FAILURE_COLUMNS = ["row", "status", "error_code", "error_message", "http_status", "attempts"]
REPO = Path(__file__).resolve().parents[2]


def _header(path: Path) -> list[str]:
    with path.open(encoding="utf-8") as source:
        return source.readline().rstrip("\n").split(",")


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def _put_requests(emu: EmulatorProcess) -> int:
    """Every PutVoiceConnectorProxy request the emulator saw, whatever became of it."""
    by_outcome: dict[str, int] = emu.stats()["by_operation"].get(OPERATION, {})
    return sum(by_outcome.values())


def _expected(rows: Sequence[Mapping[str, str]]) -> dict[tuple[str, str], dict[str, Any]]:
    return {(r["Region"], r["VoiceConnectorId"]): expected_proxy(r) for r in rows}


def _statuses(results: Sequence[Mapping[str, str]]) -> Counter[str]:
    return Counter(r["status"] for r in results)


def _run(source: Path, emu: EmulatorProcess, *extra: str, env: Mapping[str, str] | None = None) -> Any:
    return run_cli("run", source, "--endpoint-url", emu.url, "--region", "us-east-1", *extra, env=env)


def _max_in_window(times: Sequence[float], window: float) -> int:
    """The most arrivals inside any half-open window [t, t + window) that starts at an arrival."""
    ordered = sorted(times)
    best, start = 0, 0
    for end, at in enumerate(ordered):
        while at - ordered[start] >= window:
            start += 1
        best = max(best, end - start + 1)
    return best


def _no_credentials_env() -> dict[str, str]:
    """aws_env() without the key pair: the credential chain has nothing to find."""
    env = aws_env()
    del env["AWS_ACCESS_KEY_ID"], env["AWS_SECRET_ACCESS_KEY"]
    return env


# -- 1. a clean run ---------------------------------------------------------------------------------


def test_clean_run_writes_contract_files_and_a_summary(tmp_path: Path) -> None:
    """Several regions, all ok: emulator state equals the CSV, results/failure columns and order per
    docs/reference.md §3/§7, both files 0600, failure report header-only, summary on stdout, JSON logs on
    stderr.
    """
    rows = make_rows(60, regions=REGIONS)
    source = write_csv(tmp_path / "input.csv", rows)
    with emulator("--connectors", str(source)) as emu:
        done = _run(source, emu, "--rate", "0", "--log-format", "json")
        assert done.returncode == 0, done.stderr
        assert emu.proxies() == _expected(rows)
        assert _put_requests(emu) == len(rows)

    results_path, failures_path = tmp_path / "input.results.csv", tmp_path / "input.failed.csv"
    header = _header(results_path)
    assert header[: 1 + len(HEADER)] == ["row", *HEADER]
    after_input = header[1 + len(HEADER) :]
    assert after_input[: len(RESULT_COLUMNS)] == RESULT_COLUMNS
    results = read_csv(results_path)
    assert [r["row"] for r in results] == [str(n) for n in range(1, len(rows) + 1)]
    for row, line in zip(rows, results, strict=True):
        assert {k: line[k] for k in HEADER} == row  # input values byte-for-byte
        assert (line["status"], line["attempts"], line["http_status"]) == ("ok", "1", "200")
        assert (line["error_code"], line["error_message"]) == ("", "")
        assert line["request_id"]
        assert line["duration_ms"].isdigit()
        assert line["finished_at"].endswith("Z")
        assert "T" in line["finished_at"]

    assert _header(failures_path) == [*HEADER, *FAILURE_COLUMNS]
    assert read_csv(failures_path) == []
    assert (_mode(results_path), _mode(failures_path)) == (0o600, 0o600)

    assert "every row ok" in done.stdout
    assert "60 ok" in done.stdout
    assert f"results:  {results_path}" in done.stdout
    assert f"failures: {failures_path}" in done.stdout
    assert "{" not in done.stdout  # logs never go to stdout
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    assert lines, "expected at least the 'results written' log line on stderr"
    for line in lines:
        assert isinstance(json.loads(line), dict), line


def test_fallback_numbers_never_reach_stderr(tmp_path: Path) -> None:
    """Rows with a FallBackPhoneNumber fail (unknown connectors) and get logged, in both log formats,
    yet no fallback number appears on stderr; the files still carry them unchanged.
    """
    rows = make_rows(20)
    for i, row in enumerate(rows):
        row["FallBackPhoneNumber"] = f"+4420794600{i:02d}"
    source = write_csv(tmp_path / "input.csv", rows)
    known = write_csv(tmp_path / "known.csv", rows[:10])
    numbers = [r["FallBackPhoneNumber"] for r in rows]
    with emulator("--connectors", str(known)) as emu:
        for log_format in ("json", "console"):
            done = _run(source, emu, "--rate", "0", "--force", "--log-format", log_format)
            assert done.returncode == 1, done.stderr
            assert done.stderr.count("NotFoundException") >= 10  # the failures were logged
            for number in numbers:
                assert number not in done.stderr
                assert number.lstrip("+") not in done.stderr
    failed = read_csv(tmp_path / "input.failed.csv")
    assert [r["FallBackPhoneNumber"] for r in failed] == numbers[10:]


# -- 2. faults ------------------------------------------------------------------------------------


def test_faults_and_throttling_still_end_every_row_ok(tmp_path: Path) -> None:
    """429s (emulator rate below the client's), 503s, 500s and resets: every row ends ok, the state is
    complete, and the ``attempts`` column sums to exactly the requests the emulator saw (docs/reference.md §7:
    no silent re-send of a reset connection).
    """
    rows = make_rows(150, regions=REGIONS[:2])
    source = write_csv(tmp_path / "input.csv", rows)
    faults = ("--fail", "503=0.1,500=0.05,reset=0.05", "--seed", "5")
    with emulator("--connectors", str(source), "--rate", "30", *faults) as emu:
        done = _run(source, emu, "--rate", "60", "--burst", "10", "--max-attempts", "15")
        assert done.returncode == 0, done.stderr
        assert emu.proxies() == _expected(rows)
        seen: dict[str, int] = emu.stats()["by_operation"][OPERATION]
        requests = _put_requests(emu)
    for outcome in ("429", "503", "500", "reset"):
        assert seen.get(outcome, 0) > 0, f"no {outcome} was injected: {seen}"
    results = read_csv(tmp_path / "input.results.csv")
    assert _statuses(results) == {"ok": len(rows)}
    assert sum(int(r["attempts"]) for r in results) == requests
    assert f"{requests} sent" in done.stdout
    assert read_csv(tmp_path / "input.failed.csv") == []


# -- 3. invalid input -----------------------------------------------------------------------------


def test_invalid_file_sends_nothing_and_names_every_bad_row(tmp_path: Path) -> None:
    """Exit 2, zero requests, each bad row named as ``row N, column C:`` on stderr, the problems in
    ``<stem>.invalid.csv``, and no results file or failure report.
    """
    rows = make_rows(40)
    rows[3]["DefaultSessionExpiryMinutes"] = "0"
    rows[7]["PhoneNumberPoolCountries"] = "us"
    rows[9]["FallBackPhoneNumber"] = "call me"
    rows[20]["Disabled"] = "maybe"
    rows[25]["VoiceConnectorId"] = rows[24]["VoiceConnectorId"]
    source = write_csv(tmp_path / "input.csv", rows)
    with emulator("--auto-create") as emu:
        done = _run(source, emu, "--rate", "0")
        assert done.returncode == 2, done.stderr
        assert emu.stats()["total"] == 0
    expected = {
        (4, "DefaultSessionExpiryMinutes"),
        (8, "PhoneNumberPoolCountries"),
        (10, "FallBackPhoneNumber"),
        (21, "Disabled"),
        (25, "VoiceConnectorId"),
        (26, "VoiceConnectorId"),
    }
    for number, column in expected:
        assert f"row {number}, column {column}: " in done.stderr
    invalid = tmp_path / "input.invalid.csv"
    assert str(invalid) in done.stderr or invalid.name in done.stderr
    assert _header(invalid) == ["row", "column", "value", "problem"]
    assert {(int(r["row"]), r["column"]) for r in read_csv(invalid)} == expected
    assert not (tmp_path / "input.results.csv").exists()
    assert not (tmp_path / "input.failed.csv").exists()
    assert done.stdout == ""


def test_many_invalid_rows_show_twenty_and_the_total(tmp_path: Path) -> None:
    """25 bad rows: stderr shows the first 20 problems and the total; the report lists all 25."""
    rows = make_rows(30)
    for row in rows[:25]:
        row["DefaultSessionExpiryMinutes"] = "+5"
    source = write_csv(tmp_path / "input.csv", rows)
    with emulator("--auto-create") as emu:
        done = _run(source, emu, "--rate", "0")
        assert done.returncode == 2, done.stderr
        assert emu.stats()["total"] == 0
    named = [line for line in done.stderr.splitlines() if line.startswith("row ")]
    assert len(named) == 20
    assert "25 problem" in done.stderr
    assert len(read_csv(tmp_path / "input.invalid.csv")) == 25


# -- 4. unknown connectors, then the failure report -------------------------------------------------


def test_unknown_connectors_fail_and_the_failure_report_finishes_them(tmp_path: Path) -> None:
    """Unknown connectors fail with NotFoundException/404 (exit 1, the rest ok); the summary prints a
    retry command; once the connectors exist, that command on the failure report exits 0 and its own
    failure report is header-only.
    """
    rows = make_rows(40, regions=REGIONS[:2])
    unknown = {8, 15, 22, 31, 39}  # 0-based indexes of rows whose connector does not exist yet
    source = write_csv(tmp_path / "input.csv", rows)
    known = write_csv(tmp_path / "known.csv", [r for i, r in enumerate(rows) if i not in unknown])
    with emulator("--connectors", str(known)) as emu:
        done = _run(source, emu, "--rate", "0", "--log-format", "json")
        assert done.returncode == 1, done.stderr
        results = read_csv(tmp_path / "input.results.csv")
        failed_rows = {int(r["row"]) - 1 for r in results if r["status"] == "failed"}
        assert failed_rows == unknown
        assert _statuses(results) == {"ok": 35, "failed": 5}
        for line in results:
            if line["status"] == "failed":
                assert (line["error_code"], line["http_status"], line["attempts"]) == (
                    "NotFoundException",
                    "404",
                    "1",
                )
        report = read_csv(tmp_path / "input.failed.csv")
        assert [r["VoiceConnectorId"] for r in report] == [
            rows[i]["VoiceConnectorId"] for i in sorted(unknown)
        ]
        for line in done.stderr.splitlines():
            json.loads(line)

        retry = printed_argv(done.stdout, "retry")
        assert retry[1:3] == ["run", str(tmp_path / "input.failed.csv")]
        assert "--force" not in retry
        assert "--resume" not in retry

        emu.add_connectors([(rows[i]["Region"], rows[i]["VoiceConnectorId"]) for i in sorted(unknown)])
        # Exactly as printed: the summary's command must be runnable, program name included.
        again = subprocess.run(
            retry,
            env=aws_env(),
            capture_output=True,
            text=True,
            timeout=60,
            stdin=subprocess.DEVNULL,
            check=False,
        )
        assert again.returncode == 0, again.stderr
        assert emu.proxies() == _expected(rows)
    assert _statuses(read_csv(tmp_path / "input.failed.results.csv")) == {"ok": 5}
    assert _header(tmp_path / "input.failed.failed.csv") == [*HEADER, *FAILURE_COLUMNS]
    assert read_csv(tmp_path / "input.failed.failed.csv") == []


# -- 5. rate and concurrency ceilings, measured at the emulator -----------------------------------


def test_rate_ceiling_holds_at_the_emulator_retries_included(tmp_path: Path) -> None:
    """``--rate 20 --burst 5``: no 1-second window of arrivals holds more than rate + burst = 25
    requests, give or take what 100 ms of delivery jitter can add, although seeded 503s add retries;
    and the run does reach the ceiling.

    The client enforces the ceiling when it grants a permit; the emulator stamps the arrival. A
    request whose way to the wire is slower than the next one's (the first requests open their
    connections) shifts into the next window, so arrivals may show up to ``rate x jitter`` more than
    the permits did. Measured: exactly 25 in most runs, 26 in about one in six.
    """
    rate, burst = 20, 5
    jitter = 0.1  # seconds between permit and arrival that the count allows for
    rows = make_rows(90)
    source = write_csv(tmp_path / "input.csv", rows)
    with emulator("--connectors", str(source), "--fail", "503=0.15", "--seed", "9") as emu:
        done = _run(source, emu, "--rate", str(rate), "--burst", str(burst), "--concurrency", "32")
        assert done.returncode == 0, done.stderr
        stats = emu.stats(arrivals=True)
    times = [at for at, operation, _ in stats["arrivals"] if operation == OPERATION]
    assert len(times) > len(rows)  # the 503s were retried, and the retries are in the count
    busiest = _max_in_window(times, 1.0)
    assert busiest <= rate + burst + math.ceil(rate * jitter), busiest
    # The same bound stated without slack: a window shortened by the jitter holds at most rate + burst.
    assert _max_in_window(times, 1.0 - jitter) <= rate + burst
    assert busiest >= rate, f"the run never reached the ceiling ({busiest} in a second)"
    span = max(times) - min(times)
    assert len(times) <= rate * (span + jitter) + burst, (len(times), span)


def test_concurrency_ceiling_holds_across_regions(tmp_path: Path) -> None:
    """With 50 ms of latency and ``--concurrency 4``, the emulator never serves more than 4 requests at
    once, although two regions each have their own workers; and it does reach 4.
    """
    concurrency = 4
    rows = make_rows(80, regions=REGIONS[:2])
    source = write_csv(tmp_path / "input.csv", rows)
    with emulator("--connectors", str(source), "--latency", "50ms", "--seed", "2") as emu:
        done = _run(source, emu, "--rate", "0", "--concurrency", str(concurrency))
        assert done.returncode == 0, done.stderr
        stats = emu.stats(arrivals=True)
    assert stats["peak_in_flight"] == concurrency
    # Cross-check from arrival times alone: a request takes at least 25 ms (latency is 50 ms ± 50%),
    # so arrivals less than 25 ms apart overlapped; there can never be more than 4 of them.
    times = [at for at, operation, _ in stats["arrivals"] if operation == OPERATION]
    assert _max_in_window(times, 0.025) <= concurrency


# -- 6. auth --------------------------------------------------------------------------------------


def test_denied_credentials_stop_the_run_early(tmp_path: Path) -> None:
    """The emulator refuses our access key: the run stops after a handful of requests with one clear
    message, the remaining rows are ``skipped``, the failure report holds every row, exit 1.
    """
    concurrency = 4
    rows = make_rows(200)
    source = write_csv(tmp_path / "input.csv", rows)
    key = aws_env()["AWS_ACCESS_KEY_ID"]
    with emulator("--auto-create", "--deny-access-key", key) as emu:
        done = _run(source, emu, "--rate", "0", "--concurrency", str(concurrency))
        assert done.returncode == 1, done.stderr
        requests = emu.stats()["total"]
    assert 1 <= requests <= concurrency + 5, requests
    results = read_csv(tmp_path / "input.results.csv")
    counts = _statuses(results)
    assert set(counts) == {"failed", "skipped"}
    assert counts["failed"] == requests
    assert counts["skipped"] == len(rows) - requests
    assert {r["error_code"] for r in results if r["status"] == "failed"} == {"AccessDeniedException"}
    assert {r["attempts"] for r in results if r["status"] == "skipped"} == {"0"}
    assert len(read_csv(tmp_path / "input.failed.csv")) == len(rows)
    headline = done.stdout.split("\n  rows:", 1)[0]  # however many lines it takes in 80 columns
    assert headline.count("stopped early") == 1, done.stdout
    assert "credentials" in headline
    assert "AccessDeniedException" in headline


def test_no_credentials_exit_2_before_any_request(tmp_path: Path) -> None:
    """No key anywhere in the credential chain: exit 2 with a message, no request, no results file."""
    source = write_csv(tmp_path / "input.csv", make_rows(10))
    with emulator("--auto-create") as emu:
        done = _run(source, emu, "--rate", "0", env=_no_credentials_env())
        assert done.returncode == 2, done.stderr
        assert emu.stats()["total"] == 0
    assert "credentials" in done.stderr
    assert not (tmp_path / "input.results.csv").exists()
    assert not (tmp_path / "input.failed.csv").exists()


# -- 7. an existing results file ------------------------------------------------------------------


def test_existing_results_file_is_refused_unless_forced(tmp_path: Path) -> None:
    """Without --resume/--force an existing results file means exit 2, nothing sent, file untouched;
    ``--force`` overwrites it with this run's results.
    """
    rows = make_rows(12)
    source = write_csv(tmp_path / "input.csv", rows)
    results = tmp_path / "input.results.csv"
    earlier = b"row,VoiceConnectorId,status\n1,somebody-elses,ok\n"
    results.write_bytes(earlier)
    with emulator("--connectors", str(source)) as emu:
        refused = _run(source, emu, "--rate", "0")
        assert refused.returncode == 2, refused.stderr
        assert emu.stats()["total"] == 0
        assert results.read_bytes() == earlier
        assert "--force" in refused.stderr or "--resume" in refused.stderr
        forced = _run(source, emu, "--rate", "0", "--force")
        assert forced.returncode == 0, forced.stderr
        assert _put_requests(emu) == len(rows)
    assert _statuses(read_csv(results)) == {"ok": len(rows)}
    assert _mode(results) == 0o600


# -- 8. --skip-invalid ----------------------------------------------------------------------------


def test_skip_invalid_sends_the_valid_rows_and_records_the_rest(tmp_path: Path) -> None:
    """Valid rows are sent and ok, invalid rows are recorded ``invalid`` with their values unchanged and
    never sent, exit 1; an invalid fallback number is not echoed on stderr either.
    """
    rows = make_rows(30)
    rows[4]["DefaultSessionExpiryMinutes"] = "1.5"
    rows[11]["PhoneNumberPoolCountries"] = "US;;CA"
    rows[17]["FallBackPhoneNumber"] = "+0442079460123"
    bad = {5, 12, 18}  # 1-based row numbers
    source = write_csv(tmp_path / "input.csv", rows)
    with emulator("--connectors", str(source)) as emu:
        done = _run(source, emu, "--rate", "0", "--skip-invalid")
        assert done.returncode == 1, done.stderr
        assert _put_requests(emu) == len(rows) - len(bad)
        held = emu.proxies()
    assert held == _expected([r for n, r in enumerate(rows, 1) if n not in bad])
    results = read_csv(tmp_path / "input.results.csv")
    assert {int(r["row"]) for r in results if r["status"] == "invalid"} == bad
    assert _statuses(results) == {"ok": 27, "invalid": 3}
    for line in results:
        assert {k: line[k] for k in HEADER} == rows[int(line["row"]) - 1]
        if line["status"] == "invalid":
            assert (line["attempts"], line["http_status"], line["request_id"]) == ("0", "", "")
            assert line["error_message"].startswith("column ")
    report = read_csv(tmp_path / "input.failed.csv")
    assert sorted(int(r["row"]) for r in report) == sorted(bad)
    assert "+0442079460123" not in done.stderr
    assert "0442079460123" not in done.stderr


# -- 9. --emulate ---------------------------------------------------------------------------------


def test_emulate_needs_no_credentials_and_no_region(tmp_path: Path) -> None:
    """The README's sample with ``--emulate``, no AWS key or region anywhere: every row ok, exit 0."""
    source = tmp_path / "connectors.csv"
    shutil.copyfile(REPO / "samples" / "connectors.csv", source)
    env = _no_credentials_env()
    assert not any(name in env for name in ("AWS_REGION", "AWS_DEFAULT_REGION", "AWS_PROFILE"))
    done = run_cli("run", source, "--emulate", "--rate", "0", env=env, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    results = read_csv(tmp_path / "connectors.results.csv")
    assert len(results) > 100
    assert _statuses(results) == {"ok": len(results)}
