"""The README's first command works: every sample row applied through the real CLI and emulator."""

from __future__ import annotations

from pathlib import Path

from tests.e2e.harness import emulator, expected_proxy, make_rows, read_csv, run_cli, write_csv


def test_every_row_ok_and_emulator_state_equals_the_csv(tmp_path: Path) -> None:
    """A clean emulator: exit 0, one ok line per row, and the emulator holds exactly the CSV's settings."""
    rows = make_rows(60, regions=("us-east-1", "eu-west-2"))
    source = write_csv(tmp_path / "input.csv", rows)
    with emulator("--connectors", str(source)) as emu:
        done = run_cli("run", source, "--endpoint-url", emu.url, "--rate", "0", "--region", "us-east-1")
        assert done.returncode == 0, done.stderr
        results = read_csv(tmp_path / "input.results.csv")
        assert [r["status"] for r in results] == ["ok"] * len(rows)
        assert [r["row"] for r in results] == [str(n) for n in range(1, len(rows) + 1)]
        held = emu.proxies()
        assert held == {(r["Region"], r["VoiceConnectorId"]): expected_proxy(r) for r in rows}
        assert emu.stats()["accepted_writes"] == {"PutVoiceConnectorProxy": len(rows)}
    assert read_csv(tmp_path / "input.failed.csv") == []
    assert "every row ok" in done.stdout
