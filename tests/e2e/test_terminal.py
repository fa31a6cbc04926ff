"""The CLI on a real terminal (issue 10, item 6; issue 14, item 5): the real `run` against an emulator
subprocess, inside a tmux pane of a fixed size, judged by what the terminal shows.

- Ctrl-C at the ``--approve`` question stops the run at once (exit 130, summary, resumable);
- the question shows its ``[y/N]``, and y / n / nonsense are answered as they should be;
- log lines written while the progress bar is shown leave no stale bar behind;
- the summary fits 80 columns, and each command it prints re-sends what it says, run as printed.
"""

from __future__ import annotations

import re
import subprocess
import sys
import time
from collections.abc import Mapping, Sequence
from pathlib import Path

from tests.e2e.harness import (
    EmulatorProcess,
    aws_env,
    emulator,
    expected_proxy,
    make_rows,
    read_csv,
    write_csv,
)
from tests.e2e.printed import printed_command
from tests.e2e.tmux import needs_tmux, open_pane

pytestmark = needs_tmux

REGION = "us-east-1"
PUT = "PutVoiceConnectorProxy"
QUESTION = r"Wave \d+ done \(\d+ rows\)\. Continue with the next wave\? \[y/N\]:"
# A frame of the progress display: its bar is drawn with these box characters.
BAR = re.compile(r"[━╸╺]{5,}")


def _puts(emu: EmulatorProcess) -> int:
    return sum(emu.stats()["by_operation"].get(PUT, {}).values())


def _run(emu: EmulatorProcess, source: str) -> list[str]:
    """`run SOURCE` against ``emu``, the command line a person would type (python -m: this venv)."""
    return [sys.executable, "-m", "batchproxy", "run", source, "--endpoint-url", emu.url, "--region", REGION]


def _summary(lines: Sequence[str], command: str = "run") -> list[str]:
    """The summary: from its headline to the end of the terminal's text."""
    starts = [i for i, line in enumerate(lines) if line.startswith(f"batchproxy {command}: ")]
    assert starts, "no summary:\n" + "\n".join(lines)
    return list(lines[starts[-1] :])


def _missing(rows: Sequence[Mapping[str, str]], every: int) -> list[int]:
    """Indexes of the rows whose connectors the emulator is not told about (they fail with 404)."""
    return [i for i in range(len(rows)) if i % every == 1]


def _seed(tmp_path: Path, rows: Sequence[Mapping[str, str]], missing: Sequence[int]) -> Path:
    return write_csv(tmp_path / "seed.csv", [row for i, row in enumerate(rows) if i not in missing])


def _shell(command: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    """``command`` as a person pastes it into a shell: backslash-newlines and all."""
    return subprocess.run(
        ["bash", "-c", command],
        env=aws_env(),
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
        stdin=subprocess.DEVNULL,
        check=False,
    )


# -- the --approve question -----------------------------------------------------------------------


def test_ctrl_c_at_the_approve_question_stops_at_once_and_the_printed_resume_finishes(
    tmp_path: Path,
) -> None:
    """Ctrl-C twice at the question: exit 130 within seconds (not at Enter, not after --grace), the
    summary printed, the rows of the next waves `skipped`; the printed `resume:` command, run on the
    terminal, asks again at the one wave boundary left and, answered y, sends exactly the rest."""
    rows = make_rows(30)
    source = write_csv(tmp_path / "input.csv", rows)
    with emulator("--connectors", str(source)) as emu:
        argv = [*_run(emu, "input.csv"), "--waves", "10", "--approve", "--grace", "60"]
        with open_pane(argv, cwd=tmp_path, env=aws_env()) as pane:
            pane.wait_for(QUESTION)
            assert _puts(emu) == 10
            pressed = time.monotonic()
            pane.keys("C-c")
            pane.keys("C-c")
            assert pane.exit_status(timeout=10) == 130
            took = time.monotonic() - pressed
            lines = pane.lines()
        assert took < 10, took
        summary = _summary(lines)
        assert summary[0] == "batchproxy run: interrupted (interrupted by SIGINT); resumable", lines
        assert not any("Traceback" in line for line in lines), lines
        assert _puts(emu) == 10
        statuses = [line["status"] for line in read_csv(tmp_path / "input.results.csv")]
        assert statuses == ["ok"] * 10 + ["skipped"] * 20
        assert "  or:" not in "\n".join(summary)  # nothing failed: --resume alone finishes the run

        resume = printed_command(summary, "resume")
        with open_pane(["bash", "-c", resume], cwd=tmp_path, env=aws_env()) as pane:
            pane.wait_for(QUESTION)
            assert _puts(emu) == 20
            pane.type("y")
            pane.keys("Enter")
            assert pane.exit_status(timeout=30) == 0
        assert _puts(emu) == 30
        assert all(line["status"] == "ok" for line in read_csv(tmp_path / "input.results.csv"))
        assert emu.proxies() == {(REGION, row["VoiceConnectorId"]): expected_proxy(row) for row in rows}


def test_the_question_shows_y_n_and_takes_yes_no_and_asks_again_on_nonsense(tmp_path: Path) -> None:
    """The question ends in `[y/N]: `; "maybe" asks again, "y" sends the next wave, "n" stops the run
    (exit 1, `stopped early: not approved by the operator`), the rest `skipped` without a request."""
    rows = make_rows(15)
    source = write_csv(tmp_path / "input.csv", rows)
    with emulator("--connectors", str(source)) as emu:
        argv = [*_run(emu, "input.csv"), "--waves", "5", "--approve"]
        with open_pane(argv, cwd=tmp_path, env=aws_env()) as pane:
            pane.wait_for(QUESTION)
            pane.type("maybe")
            pane.keys("Enter")
            pane.wait_for(r"^Please answer y or n\.$")
            pane.type("y")
            pane.keys("Enter")
            pane.wait_for(r"^Wave 2 done \(10 rows\)\. Continue with the next wave\? \[y/N\]:$")
            assert _puts(emu) == 10
            pane.type("n")
            pane.keys("Enter")
            assert pane.exit_status(timeout=30) == 1
            lines = pane.lines()
    answered = [line for line in lines if re.match(QUESTION, line)]
    assert answered == [
        "Wave 1 done (5 rows). Continue with the next wave? [y/N]: maybe",
        "Wave 1 done (5 rows). Continue with the next wave? [y/N]: y",
        "Wave 2 done (10 rows). Continue with the next wave? [y/N]: n",
    ]
    assert _summary(lines)[0] == "batchproxy run: stopped early: not approved by the operator"
    statuses = [line["status"] for line in read_csv(tmp_path / "input.results.csv")]
    assert statuses == ["ok"] * 10 + ["skipped"] * 5


def test_ctrl_c_during_a_pause_between_waves_stops_at_once(tmp_path: Path) -> None:
    """`--pause 5m`: a Ctrl-C in the pause ends it at once (before, the pause lasted until --grace ran
    out), exit 130 with the summary; the second wave never starts."""
    rows = make_rows(10)
    source = write_csv(tmp_path / "input.csv", rows)
    with emulator("--connectors", str(source)) as emu:
        argv = [*_run(emu, "input.csv"), "--waves", "5", "--pause", "5m", "--grace", "60"]
        with open_pane(argv, cwd=tmp_path, env=aws_env()) as pane:
            pane.wait_for(r"pausing before the next wave")
            pane.keys("C-c")
            assert pane.exit_status(timeout=10) == 130
            lines = pane.lines()
        assert _summary(lines)[0] == "batchproxy run: interrupted (interrupted by SIGINT); resumable"
        assert _puts(emu) == 5


# -- the progress display and log lines ------------------------------------------------------------


def test_log_lines_leave_no_stale_progress_frame(tmp_path: Path) -> None:
    """Ten "row failed" warnings while the bar is drawn: each log line starts a line of its own, and once
    the run is over no bar is left anywhere on the terminal, scrollback included."""
    rows = make_rows(30)
    missing = _missing(rows, 3)
    write_csv(tmp_path / "input.csv", rows)
    with emulator("--connectors", str(_seed(tmp_path, rows, missing)), "--latency", "50ms") as emu:
        argv = [*_run(emu, "input.csv"), "--rate", "8", "--concurrency", "2"]
        with open_pane(argv, cwd=tmp_path, env=aws_env()) as pane:
            pane.wait_for(BAR.pattern)  # the display is up: there is a frame to leave behind
            assert pane.exit_status(timeout=60) == 1
            lines = pane.lines()
    failed = [line for line in lines if "row failed" in line]
    assert len(failed) == len(missing), "\n".join(lines)
    assert all(re.match(r"^\d{4}-\d\d-\d\dT[\d:.]+Z \[warning", line) for line in failed), failed
    stale = [line for line in lines if BAR.search(line)]
    assert stale == [], "\n".join(lines)


# -- the summary -----------------------------------------------------------------------------------


def test_the_summary_fits_80_columns_and_its_commands_resend_the_failed_rows(tmp_path: Path) -> None:
    """On an 80-column terminal, three regions with failures: no summary line is wider than 80. Then,
    once the missing connectors exist, each printed command pasted into a shell does what it says:
    `retry:` sends exactly the failed rows (from the failure report), and `or:` does too (from the
    results file, which it brings to all ok); the input was typed as ./input.csv."""
    regions = ("us-east-1", "eu-west-2", "ap-southeast-2")
    rows = make_rows(24, regions=regions)
    missing = _missing(rows, 4)
    write_csv(tmp_path / "input.csv", rows)
    with emulator("--connectors", str(_seed(tmp_path, rows, missing))) as emu:
        argv = [*_run(emu, "./input.csv"), "--rate", "0", "--max-attempts", "3", "--grace", "20"]
        with open_pane(argv, cwd=tmp_path, env=aws_env(), width=80) as pane:
            assert pane.exit_status(timeout=60) == 1
            lines = pane.lines()
        summary = _summary(lines)
        too_wide = [line for line in summary if len(line) > 80]
        assert too_wide == [], "\n".join(summary)
        assert "  by region:" in summary
        assert any(line.split()[:2] == ["eu-west-2", "6/8"] for line in summary), summary
        sent = _puts(emu)
        assert sent == len(rows)

        emu.add_connectors([(rows[i]["Region"], rows[i]["VoiceConnectorId"]) for i in missing])
        retry = _shell(printed_command(summary, "retry"), tmp_path)
        assert retry.returncode == 0, retry.stdout + retry.stderr
        assert _puts(emu) == sent + len(missing)
        retried = read_csv(tmp_path / "input.failed.results.csv")
        assert sorted(line["VoiceConnectorId"] for line in retried) == sorted(
            rows[i]["VoiceConnectorId"] for i in missing
        )

        resend = _shell(printed_command(summary, "or"), tmp_path)
        assert resend.returncode == 0, resend.stdout + resend.stderr
        assert _puts(emu) == sent + 2 * len(missing)
    results = read_csv(tmp_path / "input.results.csv")
    assert [line["status"] for line in results] == ["ok"] * len(rows)
    assert read_csv(tmp_path / "input.failed.csv") == []
