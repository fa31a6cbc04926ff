"""A plain-http endpoint off this machine is refused unless asked for (issue 10 item 5)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from batchproxy.errors import UsageError
from batchproxy.insecure import is_loopback_host, refuse_plain_http
from tests.e2e.harness import aws_env, make_rows, write_csv


@pytest.mark.parametrize(
    ("host", "loopback"),
    [
        ("127.0.0.1", True),
        ("127.8.9.10", True),
        ("::1", True),
        ("[::1]", True),
        ("localhost", True),
        ("LOCALHOST.", True),
        ("api.localhost", True),
        ("10.0.0.1", False),
        ("192.168.1.5", False),
        ("localhost.example.com", False),
        ("example.com", False),
        ("::ffff:10.0.0.1", False),
        ("", False),
    ],
)
def test_loopback_is_127_8_ipv6_one_and_localhost(host: str, loopback: bool) -> None:
    assert is_loopback_host(host) is loopback


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:4566",
        "http://localhost:8080/",
        "http://[::1]:9000",
        "https://10.0.0.1",
        "HTTPS://x.y",
    ],
)
def test_loopback_http_and_any_https_pass(url: str) -> None:
    refuse_plain_http(url, {}, allow=False)


def test_plain_http_elsewhere_is_refused_with_what_to_do() -> None:
    with pytest.raises(UsageError, match=r"--endpoint-url http://10\.0\.0\.1:80 is plain http") as caught:
        refuse_plain_http("http://10.0.0.1:80", {}, allow=False)
    assert "--allow-insecure-endpoint" in str(caught.value)
    refuse_plain_http("http://10.0.0.1:80", {}, allow=True)


def test_the_environment_endpoint_is_checked_when_no_option_is_given() -> None:
    """botocore takes AWS_ENDPOINT_URL_CHIME_SDK_VOICE, then AWS_ENDPOINT_URL; the option wins."""
    env = {"AWS_ENDPOINT_URL": "http://proxy.corp:8080", "AWS_ENDPOINT_URL_CHIME_SDK_VOICE": ""}
    with pytest.raises(UsageError, match=r"AWS_ENDPOINT_URL http://proxy\.corp:8080"):
        refuse_plain_http(None, env, allow=False)
    refuse_plain_http("http://127.0.0.1:1", env, allow=False)
    specific = {"AWS_ENDPOINT_URL_CHIME_SDK_VOICE": "https://a.example", "AWS_ENDPOINT_URL": "http://b"}
    refuse_plain_http(None, specific, allow=False)


@pytest.mark.parametrize(
    ("args", "env"),
    [
        (("--endpoint-url", "http://192.0.2.10:8080"), {}),
        ((), {"AWS_ENDPOINT_URL": "http://192.0.2.10:8080"}),
    ],
)
def test_the_cli_refuses_before_anything_is_written_or_sent(
    tmp_path: Path, args: tuple[str, ...], env: dict[str, str]
) -> None:
    """Exit 2, the reason on stderr, no results file (192.0.2.0/24 is TEST-NET: never reached)."""
    source = write_csv(tmp_path / "in.csv", make_rows(3))
    done = subprocess.run(
        [sys.executable, "-m", "batchproxy", "run", str(source), "--region", "us-east-1", *args],
        env=aws_env(**env),
        capture_output=True,
        text=True,
        timeout=60,
        stdin=subprocess.DEVNULL,
        check=False,
    )
    assert done.returncode == 2, done.stderr
    assert "http://192.0.2.10:8080 is plain http to another machine" in done.stderr
    assert "Traceback" not in done.stderr
    assert not (tmp_path / "in.results.csv").exists()
