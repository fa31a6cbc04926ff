"""An endpoint that cannot be reached stops the run early, with one message (issue 10 item 2).

Real faults only, each through the CLI as a subprocess: a name that does not resolve (inside an
empty network namespace, so no lookup leaves the machine), a TLS server whose certificate nobody
trusts, https to the emulator's plain-http port, a port nobody listens on. Each must end within
seconds, not after every row was retried: every row ``skipped`` (resumable) or with a precise error,
exit 1, the cause said once.
"""

from __future__ import annotations

import contextlib
import shutil
import socket
import ssl
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.e2e.harness import aws_env, emulator, make_rows, read_csv, write_csv
from tests.loopback import listening

ROWS = 100
# What a row may end with: skipped, or failed with one of the unreachable codes of errors.py.
PRECISE = {"DnsLookupFailed", "TlsCertificateRejected", "TlsHandshakeFailed", "ConnectionRefused"}


def _cli(*args: str | Path, prefix: tuple[str, ...] = ()) -> tuple[subprocess.CompletedProcess[str], float]:
    started = time.monotonic()
    done = subprocess.run(
        [*prefix, sys.executable, "-m", "batchproxy", *map(str, args)],
        env=aws_env(),
        capture_output=True,
        text=True,
        timeout=120,
        stdin=subprocess.DEVNULL,
        check=False,
    )
    return done, time.monotonic() - started


def _run(tmp_path: Path, *extra: str, prefix: tuple[str, ...] = ()) -> tuple[str, float, Path]:
    source = write_csv(tmp_path / "in.csv", make_rows(ROWS))
    args: tuple[str | Path, ...] = ("run", source, "--region", "us-east-1", "--log-format", "json", *extra)
    done, elapsed = _cli(*args, prefix=prefix)
    if prefix and done.returncode != 1 and "Operation not permitted" in done.stderr:
        pytest.skip("this machine does not allow network namespaces")
    assert "Traceback" not in done.stderr
    assert done.returncode == 1, done.stderr[-2000:]
    return done.stdout + done.stderr, elapsed, tmp_path / "in.results.csv"


def _check_rows(results: Path, code: str) -> None:
    """One line per row; each skipped (resumable) or failed with a precise unreachable code."""
    lines = read_csv(results)
    assert [int(line["row"]) for line in lines] == list(range(1, ROWS + 1))
    for line in lines:
        assert line["status"] == "skipped" or line["error_code"] in PRECISE, line
    assert any(line["error_code"] == code for line in lines)


def _said_once(text: str, cause: str) -> None:
    assert text.count(cause) == 1, text[-3000:]


def test_an_untrusted_certificate_stops_the_run_at_once(tmp_path: Path, self_signed: ssl.SSLContext) -> None:
    """A permanent TLS failure trips the breaker on its first answer; one endpoint: the run stops."""

    def handshake(conn: socket.socket) -> None:
        with contextlib.suppress(OSError):
            self_signed.wrap_socket(conn, server_side=True).close()

    with listening(handshake) as port:
        url = f"https://127.0.0.1:{port}"
        text, elapsed, results = _run(tmp_path, "--endpoint-url", url)
    assert elapsed < 30
    _check_rows(results, "TlsCertificateRejected")
    _said_once(text, f"every row of this run goes to {url}, so the run stopped")
    assert "certificate verify failed" in text


def test_https_to_a_plain_http_port_stops_the_run_and_says_so(tmp_path: Path) -> None:
    with emulator() as emu:
        url = emu.url.replace("http://", "https://")
        text, elapsed, results = _run(tmp_path, "--endpoint-url", url)
    assert elapsed < 30
    _check_rows(results, "TlsHandshakeFailed")
    _said_once(text, "the endpoint speaks plain HTTP: use an http:// URL, or the right port")


def test_a_refused_port_stops_the_run_after_the_retry_budget(tmp_path: Path) -> None:
    """Refused is transient (a restarting server): ridden out for the budget, then the run stops."""
    with socket.create_server(("127.0.0.1", 0)) as probe:
        port = probe.getsockname()[1]  # closed again below: nobody listens there
    url = f"http://127.0.0.1:{port}"
    text, elapsed, results = _run(tmp_path, "--endpoint-url", url, "--retry-budget", "2s")
    assert 2 <= elapsed < 30  # the budget (plus one backoff of at most 3.2 s, plus start-up)
    _check_rows(results, "ConnectionRefused")
    _said_once(text, f"127.0.0.1:{port} refused the connection")


def _in_empty_netns() -> tuple[str, ...]:
    if shutil.which("unshare") is None:
        pytest.skip("unshare is not installed")
    return ("unshare", "-n")


def test_a_name_that_does_not_resolve_ends_in_seconds_with_the_dns_cause(tmp_path: Path) -> None:
    """No network at all (an empty namespace): the resolver does not answer (EAI_AGAIN, transient),
    so the domain is given up after the retry budget, not after 100 rows x 8 attempts (96 s)."""
    url = "https://chime.nowhere.invalid"
    text, elapsed, results = _run(
        tmp_path, "--endpoint-url", url, "--retry-budget", "3s", prefix=_in_empty_netns()
    )
    assert elapsed < 20
    _check_rows(results, "DnsLookupFailed")
    _said_once(text, "cannot resolve chime.nowhere.invalid")


def test_aws_itself_unreachable_stops_its_domain_with_the_dns_cause(tmp_path: Path) -> None:
    """No --endpoint-url: the domain's own AWS endpoint does not resolve; its rows are skipped."""
    text, elapsed, results = _run(tmp_path, "--retry-budget", "3s", prefix=_in_empty_netns())
    assert elapsed < 20
    _check_rows(results, "DnsLookupFailed")
    _said_once(text, "cannot resolve voice-chime.us-east-1.amazonaws.com")
    assert "every row of this run goes to" not in text


def test_a_name_that_does_not_exist_stops_the_run_at_once_with_default_options(tmp_path: Path) -> None:
    """A resolver of the test's own answers NXDOMAIN (permanent): no retry budget to wait out, so
    100 rows end within seconds with the default options (before: 8 attempts per row, 96 s)."""
    if shutil.which("ip") is None or shutil.which("mount") is None:
        pytest.skip("ip and mount are needed to give the namespace a resolver")
    helper = Path(__file__).with_name("nxdomain_resolver.py")
    prefix = (*_in_empty_netns(), "-m", sys.executable, str(helper), str(tmp_path / "resolv.conf"))
    text, elapsed, results = _run(tmp_path, "--endpoint-url", "https://chime.nowhere.invalid", prefix=prefix)
    assert elapsed < 15
    _check_rows(results, "DnsLookupFailed")
    _said_once(text, "cannot resolve chime.nowhere.invalid: Name or service not known")
    assert "every row of this run goes to https://chime.nowhere.invalid" in text
