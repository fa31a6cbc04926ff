"""Issue 10 items 4 and 5 through the real CLI: planted links, a full disk, a quoted session token.

Every run is a ``batchproxy`` subprocess against an emulator subprocess (or, for the secret, against a
hostile endpoint of the test's own that refuses the signature as AWS does, quoting the canonical request
with the session token it was sent), over 127.0.0.1.
"""

from __future__ import annotations

import contextlib
import json
import resource
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from tests.e2e.harness import aws_env, emulator, make_rows, read_csv, run_cli, write_csv
from tests.e2e.test_journal_faults import SmallDisk
from tests.test_redact import SESSION_TOKEN, leaked_fragments

REGION = "us-east-1"
PUT = "PutVoiceConnectorProxy"
ROWS = 60
VICTIM_BYTES = b"not batchproxy's file\n"


def run_args(source: Path, url: str, *extra: str) -> list[str]:
    return ["run", str(source), "--endpoint-url", url, "--region", REGION, "--log-format", "json", *extra]


def plant(link: Path, tmp_path: Path) -> Path:
    """A victim file outside the run's directory and a link to it at ``link``; returns the victim."""
    victims = tmp_path / "victims"
    victims.mkdir(exist_ok=True)
    victim = victims / (link.name + ".victim")
    victim.write_bytes(VICTIM_BYTES)
    link.symlink_to(victim)
    return victim


@pytest.fixture
def workdir(tmp_path: Path) -> Path:
    (tmp_path / "run").mkdir()
    return tmp_path / "run"


# --- planted links --------------------------------------------------------------------------------

# Names a run writes by temporary file and rename: a link there must be sidestepped, never written.
SIDESTEPPED = (
    "in.results.csv.tmp",
    "in.results.csv.partial",
    "in.results.csv.state.json",
    "in.results.csv.state.json.tmp",
    "in.failed.csv",
    "in.failed.csv.tmp",
)


def test_a_run_sidesteps_links_planted_at_every_side_name(workdir: Path, tmp_path: Path) -> None:
    """All six names planted at once: the run completes and every victim keeps its bytes."""
    source = write_csv(workdir / "in.csv", make_rows(ROWS))
    victims = [plant(workdir / name, tmp_path) for name in SIDESTEPPED]
    with emulator("--auto-create") as emu:
        done = run_cli(*run_args(source, emu.url))
    assert done.returncode == 0, done.stderr
    assert [v.read_bytes() for v in victims] == [VICTIM_BYTES] * len(victims)
    results = workdir / "in.results.csv"
    assert not results.is_symlink()
    assert len(read_csv(results)) == ROWS
    assert not (workdir / "in.failed.csv").is_symlink()


@pytest.mark.parametrize(
    ("planted", "flags"),
    [
        ("in.results.csv", ()),
        ("in.results.csv", ("--force",)),
        ("in.results.csv", ("--resume",)),
        ("in.results.csv.lock", ()),
        ("in.results.csv.lock", ("--resume",)),
    ],
)
def test_a_link_where_a_run_writes_in_place_is_refused_before_sending(
    workdir: Path, tmp_path: Path, planted: str, flags: tuple[str, ...]
) -> None:
    """Exit 2, a message naming the link, no request sent, the victim as it was."""
    source = write_csv(workdir / "in.csv", make_rows(ROWS))
    victim = plant(workdir / planted, tmp_path)
    with emulator("--auto-create") as emu:
        done = run_cli(*run_args(source, emu.url, *flags))
        assert emu.stats()["accepted_writes"].get(PUT, 0) == 0
    assert done.returncode == 2, done.stderr
    assert f"{workdir / planted} is a symbolic link" in done.stderr
    assert "Traceback" not in done.stderr
    assert victim.read_bytes() == VICTIM_BYTES


@pytest.mark.parametrize("planted", ["in.invalid.csv", "in.invalid.csv.partial", "in.invalid.csv.tmp"])
def test_the_invalid_report_sidesteps_planted_links(workdir: Path, tmp_path: Path, planted: str) -> None:
    rows = make_rows(ROWS)
    rows[3]["DefaultSessionExpiryMinutes"] = "zero"
    source = write_csv(workdir / "in.csv", rows)
    victim = plant(workdir / planted, tmp_path)
    done = run_cli("validate", source)
    assert done.returncode == 2
    assert "row 4" in done.stderr
    assert victim.read_bytes() == VICTIM_BYTES
    assert "zero" in (workdir / "in.invalid.csv").read_text(encoding="utf-8")


def test_the_plan_file_sidesteps_a_link_at_its_temporary_name(workdir: Path, tmp_path: Path) -> None:
    source = write_csv(workdir / "in.csv", make_rows(ROWS))
    victim = plant(workdir / "in.plan.csv.tmp", tmp_path)
    with emulator("--auto-create") as emu:
        done = run_cli("plan", source, "--endpoint-url", emu.url, "--region", REGION, "--log-format", "json")
    assert done.returncode == 0, done.stderr
    assert victim.read_bytes() == VICTIM_BYTES
    assert len(read_csv(workdir / "in.plan.csv")) == ROWS


# --- a file-size limit and a full disk ------------------------------------------------------------


def limited(size: int) -> None:
    """preexec_fn: writes past ``size`` bytes fail with EFBIG instead of killing the process."""
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    resource.setrlimit(resource.RLIMIT_FSIZE, (size, size))


def run_limited(args: list[str], size: int) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "batchproxy", *args],
        env=aws_env(),
        capture_output=True,
        text=True,
        timeout=120,
        stdin=subprocess.DEVNULL,
        preexec_fn=lambda: limited(size),
        check=False,
    )


def assert_complete(results: Path, rows: int) -> None:
    lines = read_csv(results)
    assert [int(line["row"]) for line in lines] == list(range(1, rows + 1))
    assert {line["status"] for line in lines} == {"ok"}


def test_efbig_mid_run_loses_nothing_and_resume_completes(workdir: Path) -> None:
    """A limit reached mid-run: every line on disk is complete; lifted, --resume finishes every row."""
    rows = make_rows(ROWS)
    source = write_csv(workdir / "in.csv", rows)
    results = workdir / "in.results.csv"
    with emulator("--auto-create") as emu:
        stopped = run_limited(run_args(source, emu.url, "--concurrency", "4"), 6_000)
        assert stopped.returncode != 0
        raw = results.read_bytes()
        assert 1_000 < len(raw) <= 6_000
        assert raw.endswith(b"\r\n")  # no torn line: the failed record was cut back
        recorded = read_csv(results)
        assert 0 < len(recorded) < ROWS
        resumed = run_cli(*run_args(source, emu.url, "--resume"))
        assert resumed.returncode == 0, resumed.stderr
        assert len(emu.proxies()) == ROWS
    assert_complete(results, ROWS)


def test_efbig_mid_run_stops_cleanly_with_exit_1(workdir: Path) -> None:
    """The job catches the write error from inside the scheduler: one message, exit 1, no finalize,
    no skipped lines after the failure, and an earlier failure report at that path removed."""
    source = write_csv(workdir / "in.csv", make_rows(ROWS))
    stale = workdir / "in.failed.csv"
    stale.write_text("an earlier run's failure report\n")
    with emulator("--auto-create") as emu:
        stopped = run_limited(run_args(source, emu.url, "--concurrency", "4"), 6_000)
        sent = emu.stats()["accepted_writes"].get(PUT, 0)
    assert "Traceback" not in stopped.stderr
    message = f"cannot record a row in {workdir / 'in.results.csv'}: File too large"
    assert stopped.stderr.count(message) == 1
    assert stopped.returncode == 1
    assert 0 < sent < ROWS  # aborted at once, not carried on through every row
    recorded = read_csv(workdir / "in.results.csv")
    assert {line["status"] for line in recorded} == {"ok"}  # no skipped line was attempted after it
    assert not stale.exists()


def test_efbig_before_the_first_line_is_exit_2_and_leaves_no_file(workdir: Path) -> None:
    """Not even the header fits: nothing sent, a clear message, no results file to block the next run."""
    source = write_csv(workdir / "in.csv", make_rows(ROWS))
    with emulator("--auto-create") as emu:
        done = run_limited(run_args(source, emu.url), 50)
        assert emu.stats()["accepted_writes"].get(PUT, 0) == 0
    assert done.returncode == 2, done.stderr
    assert "Traceback" not in done.stderr
    assert f"{workdir / 'in.results.csv'}: File too large (EFBIG)" in done.stderr
    assert not (workdir / "in.results.csv").exists()


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[SmallDisk]:
    disk = SmallDisk(tmp_path / "disk", 24 * 1024)
    try:
        yield disk
    finally:
        disk.unmount()


def test_a_full_disk_at_finalize_keeps_the_journal_and_resume_completes(
    workdir: Path, small_disk: SmallDisk
) -> None:
    """The journal fits, its rewritten copy does not: a clear message; with room, --resume finishes."""
    source = write_csv(workdir / "in.csv", make_rows(ROWS))
    results, failures = small_disk.path / "in.results.csv", small_disk.path / "in.failed.csv"
    files = ("--results", str(results), "--failures", str(failures))
    with emulator("--auto-create") as emu:
        stopped = run_cli(*run_args(source, emu.url, *files))
        assert stopped.returncode == 1  # every row was sent: never 2 ("nothing was sent")
        assert "Traceback" not in stopped.stderr
        # Said once, naming the file that could not be written: the results file, or a file kept beside
        # it (its .state.json or timeline), whichever the full disk refused first.
        assert stopped.stderr.count("No space left on device (ENOSPC)") == 1
        assert f"cannot write {results}" in stopped.stderr
        assert len(emu.proxies()) == ROWS
        assert len(read_csv(results)) == ROWS  # everything was recorded before the rewrite failed
        small_disk.grow(1024 * 1024)
        resumed = run_cli(*run_args(source, emu.url, "--resume", *files))
        assert resumed.returncode == 0, resumed.stderr
        assert emu.stats()["accepted_writes"].get(PUT, 0) == ROWS  # nothing sent twice
    assert_complete(results, ROWS)
    assert read_csv(failures) == []


# --- a session token quoted back by the service ---------------------------------------------------


class _RefusesSignatures(BaseHTTPRequestHandler):
    """Answers every request as AWS does when the signature is wrong: 403, quoting the canonical request."""

    def do_PUT(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        canonical = "\n".join(
            [
                self.command,
                self.path,
                "",
                f"content-type:{self.headers.get('Content-Type', '')}",
                f"host:{self.headers.get('Host', '')}",
                f"x-amz-date:{self.headers.get('X-Amz-Date', '')}",
                f"x-amz-security-token:{self.headers.get('X-Amz-Security-Token', '')}",
                "",
                "content-type;host;x-amz-date;x-amz-security-token",
            ]
        )
        message = (
            "The request signature we calculated does not match the signature you provided. Check your "
            f"AWS Secret Access Key and signing method.\n\nThe Canonical String for this request should "
            f"have been\n'{canonical}'\n\nAuthorization was: {self.headers.get('Authorization', '')}"
        )
        body = json.dumps({"message": message}).encode()
        self.send_response(403)
        self.send_header("Content-Type", "application/json")
        self.send_header("x-amzn-ErrorType", "InvalidSignatureException")
        self.send_header("x-amzn-RequestId", "11111111-2222-3333-4444-555555555555")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_GET = do_PUT
    do_DELETE = do_PUT

    def log_message(self, format: str, *args: object) -> None:
        """Quiet: the test reads the CLI's output, not the server's."""


@contextlib.contextmanager
def refusing_endpoint() -> Iterator[tuple[str, list[str]]]:
    """A loopback server refusing every signature; yields its URL and the tokens it was sent."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _RefusesSignatures)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", []
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


@pytest.mark.parametrize("log_format", ["json", "console"])
def test_a_quoted_session_token_reaches_no_output(workdir: Path, log_format: str) -> None:
    """Logs, summary, results file and failure report: no 12-character piece of the token or secret."""
    source = write_csv(workdir / "in.csv", make_rows(5))
    secret = "s3cr3tKeyForTheHostileEndpointTest/0123"
    env = aws_env(AWS_SESSION_TOKEN=SESSION_TOKEN, AWS_SECRET_ACCESS_KEY=secret)
    with refusing_endpoint() as (url, _):
        args = ["run", str(source), "--endpoint-url", url, "--region", REGION, "--log-format", log_format]
        done = run_cli(*args, env=env)
    assert done.returncode == 1, done.stderr
    results = (workdir / "in.results.csv").read_text(encoding="utf-8")
    failures = (workdir / "in.failed.csv").read_text(encoding="utf-8")
    assert "InvalidSignatureException" in results
    assert "x-amz-security-token:[redacted]" in results  # the quote arrived, and lost its token
    for where in (done.stdout, done.stderr, results, failures):
        assert leaked_fragments(SESSION_TOKEN, where) == []
        assert leaked_fragments(secret, where) == []
