"""Crash safety, interruption and resume (issue 4), through the real CLI and a real emulator subprocess.

Every kill, signal and edit below happens to a ``batchproxy run`` subprocess while it talks to a
``batchproxy emulator`` subprocess over 127.0.0.1. Random choices come from seeded ``random.Random``
instances, so a failure names its seed and reproduces.
"""

from __future__ import annotations

import csv
import io
import json
import os
import random
import signal
import subprocess
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import pytest

from tests.e2e.harness import (
    EmulatorProcess,
    aws_env,
    emulator,
    expected_proxy,
    make_rows,
    read_csv,
    run_cli,
    start_cli,
    stop_process,
    write_csv,
)
from tests.e2e.printed import printed_argv

REGION = "us-east-1"
PUT = "PutVoiceConnectorProxy"
# How long a test waits for anything it polls for; every loop below is bounded by it as well.
WAIT_SECONDS = 30.0
POLL_SECONDS = 0.005


# -- helpers ----------------------------------------------------------------------------------------


def run_args(
    source: Path, url: str, *, concurrency: int, rate: float = 0, grace: float | None = None
) -> list[str]:
    """The CLI arguments of one ``run`` against the emulator (json logs, so stderr is machine-readable)."""
    args = ["run", str(source), "--endpoint-url", url, "--region", REGION]
    args += ["--rate", f"{rate:g}", "--concurrency", str(concurrency), "--log-format", "json"]
    if grace is not None:
        args += ["--grace", f"{grace:g}"]
    return args


def accepted_puts(emu: EmulatorProcess) -> int:
    return int(emu.stats()["accepted_writes"].get(PUT, 0))


def requests_seen(emu: EmulatorProcess) -> int:
    return int(emu.stats()["total"])


def more_requests_than(emu: EmulatorProcess, count: int) -> Callable[[], bool]:
    return lambda: requests_seen(emu) > count


def journal_lines(path: Path) -> list[dict[str, str]]:
    """The complete lines of a results file that a crash may have left with a torn last line.

    Asserts the property the contract promises: everything up to the last newline is valid CSV with
    the header's number of fields on every line. Bytes after the last newline (a torn line) are the
    only thing allowed to be incomplete, and they are left out.
    """
    if not path.exists():
        return []
    data = path.read_bytes()
    complete = data[: data.rfind(b"\n") + 1].decode("utf-8")
    records = list(csv.reader(io.StringIO(complete, newline="")))
    if not records:
        return []
    header, *lines = records
    assert header[0] == "row", header
    assert "status" in header, header
    for record in lines:
        assert len(record) == len(header), f"a complete line with {len(record)} fields: {record}"
    return [dict(zip(header, record, strict=True)) for record in lines]


def complete_line_count(path: Path) -> int:
    """Complete lines in ``path`` besides the header (cheap enough to poll every few milliseconds)."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return 0
    return max(data.count(b"\n") - 1, 0)


def wait_until(condition: str, check: Callable[[], bool], timeout: float = WAIT_SECONDS) -> None:
    """Poll ``check()`` until it is true; fail naming ``condition`` after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, f"timed out waiting until {condition}"
        time.sleep(POLL_SECONDS)


def finish(process: subprocess.Popen[str], timeout: float = WAIT_SECONDS) -> tuple[str, str]:
    """Wait for ``process`` to exit, returning its stdout and stderr; always closes its pipes."""
    try:
        out, err = process.communicate(timeout=timeout)
    finally:
        stop_process(process)
    return out, err


def expected_state(rows: Sequence[dict[str, str]]) -> dict[tuple[str, str], dict[str, object]]:
    return {(r["Region"], r["VoiceConnectorId"]): expected_proxy(r) for r in rows}


def assert_one_ok_line_per_row(results: Path, rows: Sequence[dict[str, str]]) -> None:
    """The finished results file: rows 1..N in order, each once, all ok, input values as written."""
    lines = read_csv(results)
    assert [line["row"] for line in lines] == [str(n) for n in range(1, len(rows) + 1)]
    not_ok = [(line["row"], line["status"], line["error_code"]) for line in lines if line["status"] != "ok"]
    assert not_ok == []
    for line, row in zip(lines, rows, strict=True):
        assert {k: line[k] for k in row} == row


def json_logs(stderr: str) -> list[dict[str, object]]:
    """The JSON log lines on stderr (anything else there is a test failure of its own, checked apart)."""
    return [json.loads(line) for line in stderr.splitlines() if line.startswith("{")]


def assert_no_traceback(stderr: str) -> None:
    assert "Traceback" not in stderr, stderr
    assert "Aborted!" not in stderr, stderr


# -- SIGKILL at random moments ----------------------------------------------------------------------

KILL_ROWS = 160
KILLS_PER_SEED = 5
# The client-side ceiling keeps each run a few seconds long whatever the concurrency, so that
# progress-based kill points spread over the whole run rather than bunching at its end.
KILL_RATE = 100.0


def _kill_point(rng: random.Random, process: subprocess.Popen[str], results: Path, remaining: int) -> str:
    """Wait until a randomly chosen moment of ``process``'s life; describe the moment chosen.

    A third of the kill points are a plain delay from the start (they land in interpreter start-up,
    input validation, journal opening or the first requests); the rest wait until the journal has
    gained a random number of lines (up to half of what is left), then a few milliseconds more.
    """
    if remaining < 2 or rng.random() < 1 / 3:
        delay = rng.uniform(0.05, 1.2)
        time.sleep(delay)
        return f"{delay:.2f}s after start"
    before = complete_line_count(results)
    target = before + rng.randint(1, remaining // 2)
    wait_until(
        f"{results} has {target} lines",
        lambda: complete_line_count(results) >= target or process.poll() is not None,
    )
    time.sleep(rng.uniform(0, 0.03))
    return f"after line {target}"


@pytest.mark.parametrize(("seed", "concurrency"), [(401, 3), (402, 4), (403, 8), (404, 16)])
def test_sigkill_at_random_moments_then_resume_applies_every_row_once(
    tmp_path: Path, seed: int, concurrency: int
) -> None:
    """kill -9 at five random moments, resuming after each: valid CSV throughout, nothing lost, little resent.

    Between kills the results file is valid CSV up to its last complete line and holds only ``ok``
    lines (a SIGKILL leaves no ``skipped`` lines). After the final ``--resume``: exactly one ``ok`` line
    per input row, the emulator holds exactly the CSV's settings, and the puts it accepted beyond one
    per row are at most ``concurrency`` per kill (only rows in flight at a kill can be sent twice).
    """
    rng = random.Random(seed)
    rows = make_rows(KILL_ROWS)
    source = write_csv(tmp_path / "input.csv", rows)
    results = tmp_path / "input.results.csv"
    kills: list[str] = []
    with emulator("--latency", "40ms", "--seed", str(seed), "--connectors", str(source)) as emu:
        args = run_args(source, emu.url, concurrency=concurrency, rate=KILL_RATE)
        ok_rows: set[str] = set()
        for cycle in range(KILLS_PER_SEED * 3):
            if len(kills) == KILLS_PER_SEED:
                break
            process = start_cli(*args, *(["--resume"] if cycle else []))
            moment = _kill_point(rng, process, results, KILL_ROWS - len(ok_rows))
            if process.poll() is None:
                process.kill()
                kills.append(moment)
            out, err = finish(process)
            assert process.returncode in (0, -signal.SIGKILL), (moment, out, err)
            lines = journal_lines(results)
            assert {line["status"] for line in lines} <= {"ok"}, (moment, lines)
            now_ok = {line["row"] for line in lines}
            assert ok_rows <= now_ok, f"ok rows vanished after the kill {moment}"
            ok_rows = now_ok
            if process.returncode == 0:
                break  # the run finished before the kill point: nothing left to kill
        assert len(kills) == KILLS_PER_SEED, f"only {len(kills)} kills landed: {kills}"

        done = run_cli(*args, "--resume")
        assert done.returncode == 0, done.stdout + done.stderr
        assert_one_ok_line_per_row(results, rows)
        assert emu.proxies() == expected_state(rows)
        extra = accepted_puts(emu) - len(rows)
        print(f"seed {seed}, concurrency {concurrency}: {extra} extra puts; kills {kills}")
        assert 0 <= extra <= concurrency * len(kills), (extra, kills)
    assert read_csv(tmp_path / "input.failed.csv") == []
    assert not (tmp_path / "input.results.csv.lock").exists()


# -- SIGINT -----------------------------------------------------------------------------------------


def _resume_command(stdout: str) -> list[str]:
    """The command the summary prints after ``resume:``, split as a shell would split it."""
    return printed_argv(stdout, "resume")


def test_sigint_at_random_moments_exits_130_within_grace_and_resumes_to_completion(tmp_path: Path) -> None:
    """SIGINT mid-run, three times: exit 130 within the grace period, a summary with the exact resume command.

    Each interrupted run leaves one line per input row (rows in flight finish ``ok``, the rest are
    ``skipped``/NotAttempted), and no traceback. Running the printed resume command as printed
    continues the run; the last one exits 0 with every row ok and the emulator holding the CSV.
    """
    rng = random.Random(4020)
    grace = 3.0
    rows = make_rows(100)
    source = write_csv(tmp_path / "input.csv", rows)
    results = tmp_path / "input.results.csv"
    # 200 ms ± 50% per request: rows are in flight at the signal and all finish well within the grace.
    with emulator("--latency", "200ms", "--seed", "4020", "--connectors", str(source)) as emu:
        args = run_args(source, emu.url, concurrency=8, grace=grace)
        resume: list[str] = []
        for _ in range(3):
            sent_before = requests_seen(emu)
            if resume:  # the command exactly as the previous summary printed it
                process = subprocess.Popen(
                    resume,
                    env=aws_env(),
                    stdout=subprocess.PIPE,
                    stderr=subprocess.PIPE,
                    stdin=subprocess.DEVNULL,
                    text=True,
                )
            else:
                process = start_cli(*args)
            try:
                wait_until("the run sends", more_requests_than(emu, sent_before))
                time.sleep(rng.uniform(0, 0.6))
                process.send_signal(signal.SIGINT)
                signalled = time.monotonic()
                out, err = process.communicate(timeout=WAIT_SECONDS)
                took = time.monotonic() - signalled
            finally:
                stop_process(process)
            assert process.returncode == 130, out + err
            assert took < grace + 1.5, took
            assert_no_traceback(err)
            assert "interrupted" in out
            lines = read_csv(results)
            assert [line["row"] for line in lines] == [str(n) for n in range(1, len(rows) + 1)]
            statuses = {(line["status"], line["error_code"]) for line in lines}
            assert statuses <= {("ok", ""), ("skipped", "NotAttempted")}, statuses
            assert ("skipped", "NotAttempted") in statuses
            resume = _resume_command(out)
            assert os.access(resume[0], os.X_OK), f"{resume[0]} is not a command one can run"
            assert resume[1:] == [*args, "--resume"]

        done = subprocess.run(resume, env=aws_env(), capture_output=True, text=True, timeout=60, check=False)
        assert done.returncode == 0, done.stdout + done.stderr
        assert_one_ok_line_per_row(results, rows)
        assert emu.proxies() == expected_state(rows)
        # SIGINT lets rows in flight finish and record ok, so no row is ever sent twice.
        assert accepted_puts(emu) == len(rows)


def test_second_sigint_cancels_rows_in_flight_at_once(tmp_path: Path) -> None:
    """A second SIGINT during the grace period: exit 130 at once, rows in flight recorded skipped/Cancelled.

    The requests take seconds and the grace period is long, so only the second signal can end the run
    quickly. Every row still gets a line; a resume then applies everything.
    """
    concurrency = 4
    rows = make_rows(30)
    source = write_csv(tmp_path / "input.csv", rows)
    results = tmp_path / "input.results.csv"
    with emulator("--latency", "6s", "--seed", "4030", "--connectors", str(source)) as emu:
        args = run_args(source, emu.url, concurrency=concurrency, grace=60)
        process = start_cli(*args)
        try:
            wait_until(
                f"{concurrency} requests are on the wire",
                lambda: int(emu.stats()["in_flight"]) >= concurrency,
            )
            process.send_signal(signal.SIGINT)
            # Not a wait for readiness: an observation window in which the process must NOT exit.
            time.sleep(0.3)
            assert process.poll() is None, "the first SIGINT must wait for the rows in flight"
            process.send_signal(signal.SIGINT)
            signalled = time.monotonic()
            out, err = process.communicate(timeout=WAIT_SECONDS)
            took = time.monotonic() - signalled
        finally:
            stop_process(process)
        assert process.returncode == 130, out + err
        assert took < 2.0, took
        assert_no_traceback(err)
        lines = read_csv(results)
        assert [line["row"] for line in lines] == [str(n) for n in range(1, len(rows) + 1)]
        cancelled = [line for line in lines if line["error_code"] == "Cancelled"]
        assert len(cancelled) == concurrency, [(line["row"], line["error_code"]) for line in lines]
        assert all(line["status"] == "skipped" and line["attempts"] == "1" for line in cancelled)
        assert {line["status"] for line in lines} == {"skipped"}

        emu.configure(latency=0.005)
        done = run_cli(*args, "--resume")
        assert done.returncode == 0, done.stdout + done.stderr
        assert_one_ok_line_per_row(results, rows)
        assert emu.proxies() == expected_state(rows)
        # The cancelled puts may still have landed in the emulator; nothing beyond them is sent twice.
        assert len(rows) <= accepted_puts(emu) <= len(rows) + concurrency


def _reading(process: subprocess.Popen[str], path: Path) -> Callable[[], bool]:
    """True once ``process`` has ``path`` open (Linux ``/proc``): its imports are done, validation runs."""
    fds = Path(f"/proc/{process.pid}/fd")

    def check() -> bool:
        try:
            return any(os.readlink(fd) == str(path) for fd in fds.iterdir())
        except (FileNotFoundError, ProcessLookupError):
            return False

    return check


@pytest.mark.skipif(not Path("/proc/self/fd").is_dir(), reason="needs /proc to see the input being read")
def test_sigint_while_validating_exits_130_quietly_and_sends_nothing(tmp_path: Path) -> None:
    """SIGINT before the scheduler runs (here: while a large input is validated) is still a clean exit 130.

    No traceback and no click "Aborted!" (which would mean exit 1, "finished with rows not ok"),
    no request sent, no results file; the same command then runs normally.
    """
    rows = make_rows(20_000)
    source = write_csv(tmp_path / "input.csv", rows)
    with emulator("--auto-create") as emu:
        args = run_args(source, emu.url, concurrency=4)
        process = start_cli(*args)
        try:
            wait_until("the input is being read", _reading(process, source.resolve()))
            process.send_signal(signal.SIGINT)
            out, err = process.communicate(timeout=WAIT_SECONDS)
        finally:
            stop_process(process)
        assert process.returncode == 130, out + err
        assert_no_traceback(err)
        assert "interrupted" in err
        assert requests_seen(emu) == 0
    assert not (tmp_path / "input.results.csv").exists()


# -- edited input ------------------------------------------------------------------------------------


def _interrupt_after(process: subprocess.Popen[str], results: Path, lines: int) -> tuple[str, str]:
    """SIGINT ``process`` once ``results`` has ``lines`` complete lines; its stdout and stderr."""
    try:
        wait_until(f"{lines} lines", lambda: complete_line_count(results) >= lines)
        process.send_signal(signal.SIGINT)
        return process.communicate(timeout=WAIT_SECONDS)
    finally:
        stop_process(process)


def test_resume_after_editing_three_rows_resends_exactly_those_and_the_unfinished(tmp_path: Path) -> None:
    """Three already-ok rows edited before ``--resume`` are re-sent (and logged as changed), nothing else is.

    The emulator's accepted puts grow by exactly 3 + the rows the interrupted run left unfinished,
    and its state then equals the edited CSV.
    """
    rng = random.Random(4040)
    rows = make_rows(120)
    source = write_csv(tmp_path / "input.csv", rows)
    results = tmp_path / "input.results.csv"
    with emulator("--latency", "100ms", "--seed", "4040", "--connectors", str(source)) as emu:
        args = run_args(source, emu.url, concurrency=8)
        process = start_cli(*args)
        out, err = _interrupt_after(process, results, 40)
        assert process.returncode == 130, out + err
        lines = read_csv(results)
        ok = [int(line["row"]) for line in lines if line["status"] == "ok"]
        unfinished = len(rows) - len(ok)
        assert unfinished > 0

        edited = sorted(rng.sample(ok, 3))
        for number in edited:
            row = rows[number - 1]
            row["DefaultSessionExpiryMinutes"] = str(int(row["DefaultSessionExpiryMinutes"]) + 500)
        write_csv(source, rows)
        before = accepted_puts(emu)

        done = run_cli(*args, "--resume")
        assert done.returncode == 0, done.stdout + done.stderr
        assert accepted_puts(emu) - before == 3 + unfinished
        assert_one_ok_line_per_row(results, rows)
        assert emu.proxies() == expected_state(rows)
        changed = [
            entry["row"]
            for entry in json_logs(done.stderr)
            if entry.get("event") == "sending again" and "changed" in str(entry.get("reason"))
        ]
        assert changed == edited


# -- refusals, --retry-failed, failure reports --------------------------------------------------------


def test_resume_with_a_different_input_file_is_refused_and_sends_nothing(tmp_path: Path) -> None:
    """``--resume`` pointed at another input's results file: exit 2, a clear message, file untouched."""
    rows = make_rows(20)
    source = write_csv(tmp_path / "input.csv", rows)
    other = write_csv(tmp_path / "other.csv", make_rows(20, prefix="other"))
    results = tmp_path / "input.results.csv"
    with emulator("--connectors", str(source)) as emu:
        first = run_cli(*run_args(source, emu.url, concurrency=4))
        assert first.returncode == 0, first.stderr
        before, seen = results.read_bytes(), requests_seen(emu)

        refused = run_cli(*run_args(other, emu.url, concurrency=4), "--resume", "--results", str(results))
        assert refused.returncode == 2, refused.stdout + refused.stderr
        assert "different input file" in refused.stderr
        assert_no_traceback(refused.stderr)
        assert requests_seen(emu) == seen
    assert results.read_bytes() == before
    assert not (tmp_path / "other.failed.csv").exists()


def _seed_file(path: Path, rows: Sequence[dict[str, str]]) -> Path:
    pairs = [{"VoiceConnectorId": row["VoiceConnectorId"], "Region": row["Region"]} for row in rows]
    return write_csv(path, pairs, header=("VoiceConnectorId", "Region"))


def _pairs(rows: Sequence[dict[str, str]]) -> list[tuple[str, str]]:
    return [(row["Region"], row["VoiceConnectorId"]) for row in rows]


def test_resume_leaves_failed_rows_alone_and_retry_failed_resends_them(tmp_path: Path) -> None:
    """Plain ``--resume`` after a finished run sends nothing (failed is final); ``--retry-failed`` re-sends.

    Six rows fail with NotFoundException (their connectors do not exist yet). ``--resume`` sends no
    request even once the connectors exist, and still says (exit 1, summary, retry command) that six
    rows are not ok; ``--resume --retry-failed`` then sends exactly those six, and every row ends ok
    with the emulator holding the CSV.
    """
    rows = make_rows(30)
    unknown = rows[1::5]
    known = [row for row in rows if row not in unknown]
    source = write_csv(tmp_path / "input.csv", rows)
    results = tmp_path / "input.results.csv"
    with emulator("--connectors", str(_seed_file(tmp_path / "seed.csv", known))) as emu:
        args = run_args(source, emu.url, concurrency=4)
        first = run_cli(*args)
        assert first.returncode == 1, first.stdout + first.stderr
        failed = [line for line in read_csv(results) if line["status"] != "ok"]
        assert [(f["status"], f["error_code"]) for f in failed] == [("failed", "NotFoundException")] * 6

        seen = requests_seen(emu)
        again = run_cli(*args, "--resume")
        assert again.returncode == 1, again.stdout + again.stderr
        assert "every row ok" not in again.stdout, again.stdout
        assert "6 row(s) not ok" in again.stdout, again.stdout
        assert "retry:" in again.stdout, again.stdout
        emu.add_connectors(_pairs(unknown))
        again = run_cli(*args, "--resume")
        assert again.returncode == 1, again.stdout + again.stderr
        assert requests_seen(emu) == seen
        assert len([line for line in read_csv(results) if line["status"] == "failed"]) == 6

        before = accepted_puts(emu)
        retried = run_cli(*args, "--resume", "--retry-failed")
        assert retried.returncode == 0, retried.stdout + retried.stderr
        assert accepted_puts(emu) - before == 6
        assert requests_seen(emu) - seen == 6
        assert_one_ok_line_per_row(results, rows)
        assert emu.proxies() == expected_state(rows)
    assert read_csv(tmp_path / "input.failed.csv") == []


def test_failure_report_shrinks_and_converges_to_an_empty_one(tmp_path: Path) -> None:
    """Re-running the failure report, then its own failure report, sends only what still fails and ends empty.

    Ten of forty rows fail (unknown connectors). With five of those created, running ``input.failed.csv``
    sends exactly ten requests and leaves a five-row report; with the rest created, running that report
    sends five and leaves a header-only report. The emulator then holds the whole input.
    """
    rows = make_rows(40)
    unknown = rows[3::4]
    known = [row for row in rows if row not in unknown]
    source = write_csv(tmp_path / "input.csv", rows)
    with emulator("--connectors", str(_seed_file(tmp_path / "seed.csv", known))) as emu:
        first = run_cli(*run_args(source, emu.url, concurrency=4))
        assert first.returncode == 1, first.stdout + first.stderr
        report = tmp_path / "input.failed.csv"
        assert [r["VoiceConnectorId"] for r in read_csv(report)] == [r["VoiceConnectorId"] for r in unknown]

        emu.add_connectors(_pairs(unknown[:5]))
        seen = requests_seen(emu)
        second = run_cli(*run_args(report, emu.url, concurrency=4))
        assert second.returncode == 1, second.stdout + second.stderr
        assert requests_seen(emu) - seen == 10
        report = tmp_path / "input.failed.failed.csv"
        assert [r["VoiceConnectorId"] for r in read_csv(report)] == [
            r["VoiceConnectorId"] for r in unknown[5:]
        ]

        emu.add_connectors(_pairs(unknown[5:]))
        seen = requests_seen(emu)
        third = run_cli(*run_args(report, emu.url, concurrency=4))
        assert third.returncode == 0, third.stdout + third.stderr
        assert requests_seen(emu) - seen == 5
        assert emu.proxies() == expected_state(rows)
    last = tmp_path / "input.failed.failed.failed.csv"
    assert read_csv(last) == []
    assert last.read_text(encoding="utf-8").startswith("VoiceConnectorId,")


# -- two runs, one results file ---------------------------------------------------------------------


def test_a_second_run_on_the_same_results_file_is_refused_while_the_first_runs(tmp_path: Path) -> None:
    """While one run writes a results file, another run on it (plain or ``--resume``) exits 2 naming the
    other run, sends nothing, and the first run still finishes with every row ok."""
    rows = make_rows(12)
    source = write_csv(tmp_path / "input.csv", rows)
    results = tmp_path / "input.results.csv"
    with emulator("--latency", "700ms", "--seed", "4060", "--connectors", str(source)) as emu:
        args = run_args(source, emu.url, concurrency=2)
        first = start_cli(*args)
        try:
            wait_until("the first run opened its results file", results.exists)
            for extra in ([], ["--resume"]):
                second = run_cli(*args, *extra)
                assert second.returncode == 2, second.stdout + second.stderr
                assert "another batchproxy run" in second.stderr, second.stderr
                assert_no_traceback(second.stderr)
                assert first.poll() is None, "the first run ended before the second was refused"
            out, err = first.communicate(timeout=WAIT_SECONDS)
        finally:
            stop_process(first)
        assert first.returncode == 0, out + err
        assert_one_ok_line_per_row(results, rows)
        assert requests_seen(emu) == len(rows)
        assert emu.proxies() == expected_state(rows)


def test_resume_of_invalid_input_writes_nothing_though_the_journal_is_read_first(tmp_path: Path) -> None:
    """``--resume`` reads (and locks) the results file before it validates the input, so that one pass
    can decide every row; an invalid input must still create no results file, leave an existing one
    byte for byte as it was (a torn last line included), and leave no lock behind."""
    rows = make_rows(6)
    source = write_csv(tmp_path / "input.csv", rows)
    results, lock = tmp_path / "input.results.csv", tmp_path / "input.results.csv.lock"
    first = run_cli("run", source, "--emulate", "--log-format", "json")
    assert first.returncode == 0, first.stdout + first.stderr
    with results.open("ab") as journal:
        journal.write(b"7,vc000006,us-east-1")  # a torn last line, as a crash leaves one
    before = results.read_bytes()

    rows[2]["DefaultSessionExpiryMinutes"] = "0"
    write_csv(source, rows)
    refused = run_cli("run", source, "--emulate", "--resume", "--log-format", "json")
    assert refused.returncode == 2, refused.stdout + refused.stderr
    assert "row 3, column DefaultSessionExpiryMinutes" in refused.stderr
    assert results.read_bytes() == before
    assert not lock.exists()

    results.unlink()
    missing = run_cli("run", source, "--emulate", "--resume", "--log-format", "json")
    assert missing.returncode == 2, missing.stdout + missing.stderr
    assert not results.exists()
    assert not lock.exists()
