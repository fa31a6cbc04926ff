"""Drive the real CLI as a subprocess against a real emulator subprocess, over loopback HTTP.

Everything here starts processes and stops them by PID, binds 127.0.0.1 only, and bounds every wait.
"""

from __future__ import annotations

import contextlib
import csv
import json
import os
import subprocess
import sys
import urllib.request
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from batchproxy.emulator.process import spawn
from batchproxy.emulator.process import stop as stop_process

__all__ = [
    "EmulatorProcess",
    "aws_env",
    "emulator",
    "expected_proxy",
    "make_rows",
    "read_csv",
    "run_cli",
    "start_cli",
    "stop_process",
    "write_csv",
]

HEADER = (
    "VoiceConnectorId",
    "Region",
    "DefaultSessionExpiryMinutes",
    "PhoneNumberPoolCountries",
    "FallBackPhoneNumber",
    "Disabled",
)


def aws_env(**extra: str) -> dict[str, str]:
    """An environment with test credentials and no trace of the developer's own AWS configuration."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update(
        AWS_ACCESS_KEY_ID="AKIDTESTBATCHPROXY01",
        AWS_SECRET_ACCESS_KEY="test-secret-not-used-for-anything",
        AWS_CONFIG_FILE=os.devnull,
        AWS_SHARED_CREDENTIALS_FILE=os.devnull,
        AWS_EC2_METADATA_DISABLED="true",
    )
    env.update(extra)
    return env


@dataclass
class EmulatorProcess:
    url: str
    process: subprocess.Popen[str]

    def _call(self, method: str, path: str, body: Mapping[str, Any] | None = None) -> Any:
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(self.url + path, data=data, method=method)
        request.add_header("Content-Type", "application/json")
        with urllib.request.urlopen(request, timeout=10) as response:
            text = response.read().decode()
        return json.loads(text) if text else None

    def stats(self, *, arrivals: bool = False) -> Any:
        return self._call("GET", "/_emulator/stats" + ("?arrivals=1" if arrivals else ""))

    def state(self) -> Any:
        return self._call("GET", "/_emulator/state")

    def configure(self, **dials: Any) -> Any:
        return self._call("POST", "/_emulator/config", dials)

    def add_connectors(self, pairs: Sequence[tuple[str, str]]) -> Any:
        connectors = [{"VoiceConnectorId": vc, "Region": region} for region, vc in pairs]
        return self._call("POST", "/_emulator/connectors", {"connectors": connectors})

    def proxies(self) -> dict[tuple[str, str], dict[str, Any]]:
        """Every configured proxy, keyed by (region, VoiceConnectorId)."""
        found: dict[tuple[str, str], dict[str, Any]] = {}
        for region, connectors in self.state()["regions"].items():
            for voice_connector_id, connector in connectors.items():
                if connector.get("Proxy"):
                    found[(region, voice_connector_id)] = connector["Proxy"]
        return found


@contextlib.contextmanager
def emulator(*args: str) -> Iterator[EmulatorProcess]:
    """``batchproxy emulator --port 0 ARGS`` in a subprocess; yields once its URL is printed."""
    with spawn(*args) as child:
        yield EmulatorProcess(url=child.url, process=child.process)


def run_cli(
    *args: str | Path, env: Mapping[str, str] | None = None, timeout: float = 120, cwd: Path | None = None
) -> subprocess.CompletedProcess[str]:
    """``batchproxy ARGS`` to completion, capturing stdout and stderr."""
    return subprocess.run(
        [sys.executable, "-m", "batchproxy", *map(str, args)],
        env=dict(env) if env is not None else aws_env(),
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=cwd,
        stdin=subprocess.DEVNULL,
        check=False,
    )


def start_cli(
    *args: str | Path, env: Mapping[str, str] | None = None, cwd: Path | None = None
) -> subprocess.Popen[str]:
    """``batchproxy ARGS`` started in the background (for signal and kill tests); the caller stops it."""
    return subprocess.Popen(
        [sys.executable, "-m", "batchproxy", *map(str, args)],
        env=dict(env) if env is not None else aws_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        stdin=subprocess.DEVNULL,
        text=True,
        cwd=cwd,
    )


def make_rows(
    count: int, *, regions: Sequence[str] = ("us-east-1",), prefix: str = "vc"
) -> list[dict[str, str]]:
    """``count`` distinct valid input rows spread over ``regions``, with varied settings."""
    rows = []
    for i in range(count):
        rows.append(
            {
                "VoiceConnectorId": f"{prefix}{i:06d}",
                "Region": regions[i % len(regions)],
                "DefaultSessionExpiryMinutes": str(30 + i % 90),
                "PhoneNumberPoolCountries": ("US", "US;CA", "GB;IE")[i % 3],
                "FallBackPhoneNumber": f"+1206555{i % 10000:04d}" if i % 2 else "",
                "Disabled": ("", "true", "false")[i % 3],
            }
        )
    return rows


def write_csv(path: Path, rows: Sequence[Mapping[str, str]], header: Sequence[str] = HEADER) -> Path:
    with path.open("w", newline="", encoding="utf-8") as out:
        writer = csv.DictWriter(out, fieldnames=list(header), lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
    return path


def read_csv(path: Path) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as source:
        return list(csv.DictReader(source))


def expected_proxy(row: Mapping[str, str]) -> dict[str, Any]:
    """The ``Proxy`` the emulator should hold after ``row`` was put."""
    proxy: dict[str, Any] = {
        "DefaultSessionExpiryMinutes": int(row["DefaultSessionExpiryMinutes"]),
        "Disabled": row.get("Disabled", "").lower() in ("true", "1", "yes"),
        "PhoneNumberCountries": row["PhoneNumberPoolCountries"].split(";"),
    }
    if row.get("FallBackPhoneNumber"):
        proxy["FallBackPhoneNumber"] = row["FallBackPhoneNumber"]
    return proxy
