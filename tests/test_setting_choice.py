"""Which setting a command is about: ``--setting``, or the record its results file carries (docs/reference.md
§9)."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from batchproxy.config import RunConfig
from batchproxy.errors import UsageError
from batchproxy.journal import RunMeta, load_meta, save_meta
from batchproxy.operations import PutSetting
from batchproxy.setting_choice import choose_setting, common_setting, recorded_setting
from batchproxy.settings import SETTINGS


def _results(tmp_path: Path, setting: str | None) -> Path:
    results = tmp_path / "input.results.csv"
    results.write_text("row,VoiceConnectorId\n")
    if setting is not None:
        save_meta(results, RunMeta(setting=setting))
    return results


def test_the_sidecar_keeps_the_setting_beside_the_learned_rates(tmp_path: Path) -> None:
    results = _results(tmp_path, None)
    save_meta(results, RunMeta(learned_rates={(None, "us-east-1"): 12.5}, setting="logging"))
    meta = load_meta(results)
    assert meta.setting == "logging"
    assert dict(meta.learned_rates) == {(None, "us-east-1"): 12.5}


def test_a_results_file_without_a_record_is_the_proxys(tmp_path: Path) -> None:
    """Files written before settings existed have no record: they were all about the proxy."""
    assert recorded_setting(_results(tmp_path, None)) == "proxy"
    assert choose_setting(None, [_results(tmp_path, None)]) is SETTINGS["proxy"]


def test_the_record_is_taken_when_no_setting_is_given(tmp_path: Path) -> None:
    assert choose_setting(None, [_results(tmp_path, "termination")]) is SETTINGS["termination"]


def test_a_setting_agreeing_with_the_record_is_fine(tmp_path: Path) -> None:
    assert choose_setting("logging", [_results(tmp_path, "logging")]) is SETTINGS["logging"]


@pytest.mark.parametrize(("recorded", "given"), [("logging", "proxy"), (None, "logging")])
def test_a_contradicting_setting_is_refused(tmp_path: Path, recorded: str | None, given: str) -> None:
    results = _results(tmp_path, recorded)
    with pytest.raises(
        UsageError, match=f"for the {recorded or 'proxy'} setting, but --setting says {given}"
    ):
        choose_setting(given, [results])


def test_a_missing_results_file_records_nothing(tmp_path: Path) -> None:
    """A path that does not exist yet (a first run, a typo) is not taken for a proxy record."""
    assert choose_setting("streaming", [tmp_path / "absent.csv"]) is SETTINGS["streaming"]
    assert choose_setting(None, []) is SETTINGS["proxy"]


def test_a_record_naming_no_setting_we_know_is_a_usage_error(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="unknown setting 'sip-media'"):
        choose_setting(None, [_results(tmp_path, "sip-media")])


def test_shards_merge_under_their_one_setting(tmp_path: Path) -> None:
    one, two = tmp_path / "a", tmp_path / "b"
    one.mkdir()
    two.mkdir()
    assert common_setting([_results(one, "origination"), _results(two, "origination")]) == "origination"
    assert common_setting([_results(tmp_path, None)]) == "proxy"


def test_shards_of_different_settings_are_not_merged(tmp_path: Path) -> None:
    one, two = tmp_path / "a", tmp_path / "b"
    one.mkdir()
    two.mkdir()
    with pytest.raises(UsageError, match="about different settings"):
        common_setting([_results(one, "origination"), _results(two, "logging")])


def test_the_retry_command_names_a_setting_taken_from_the_record(tmp_path: Path) -> None:
    """``--resume`` took the setting from the results file; the failure report has no record, so the
    suggested retry on it must say ``--setting``."""
    source = tmp_path / "logging.csv"
    operation = PutSetting(setting=SETTINGS["logging"])
    paths = operation.default_paths(source)
    config = RunConfig(
        input_path=source,
        results_path=paths.results,
        failures_path=paths.failures,
        region=None,
        profile=None,
        endpoint_url=None,
        argv=("batchproxy", "run", str(source), "--resume"),
        setting="logging",
    )
    retry = list(operation.next_commands(config).retry)
    assert retry == ["batchproxy", "run", str(paths.failures), "--setting", "logging"]
    given = replace(config, argv=("batchproxy", "run", str(source), "--setting", "logging"))
    assert list(operation.next_commands(given).retry).count("--setting") == 1
