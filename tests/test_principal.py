"""Principals (profiles and assumed roles), the AccountId/RoleArn columns, and what a run remembers
of them: parsing, partitions, validation in the scan, learned rates and the summary."""

from __future__ import annotations

from pathlib import Path

import pytest

from batchproxy import input as input_file
from batchproxy.engine.stats import RunStats
from batchproxy.journal.meta import RunMeta, load_meta, save_meta
from batchproxy.principal import Domain, Role, describe, kinded, label, role_for_account, sort_key
from batchproxy.report.domain import Domain as ReportDomain
from batchproxy.report.summary import Summary, render
from batchproxy.rows import Outcome, Row, Status


@pytest.mark.parametrize(
    ("region", "partition"),
    [("us-east-1", "aws"), ("cn-north-1", "aws-cn"), ("us-gov-west-1", "aws-us-gov"), ("eu-west-2", "aws")],
)
def test_an_account_role_arn_follows_the_regions_partition(region: str, partition: str) -> None:
    role = role_for_account("123456789012", "Deployer", region)
    assert role.arn == f"arn:{partition}:iam::123456789012:role/Deployer"
    assert (role.account, role.partition, role.name) == ("123456789012", partition, "Deployer")


@pytest.mark.parametrize(
    "text",
    [
        "arn:aws:iam::123456789012:user/Bob",
        "arn:aws:iam::12345678901:role/X",
        "arn:aws:sts::123456789012:role/X",
        "arn:aws-xx:iam::123456789012:role/X",
        "arn:aws:iam::123456789012:role/",
        "arn:aws:iam::123456789012:role/has space",
        "arn:aws:iam::١٢٣٤٥٦٧٨٩٠١٢:role/X",
    ],
)
def test_a_malformed_role_arn_is_refused(text: str) -> None:
    with pytest.raises(ValueError, match="IAM role ARN"):
        Role.parse(text)


def test_a_role_arn_with_a_path_is_accepted() -> None:
    assert Role.parse("arn:aws-us-gov:iam::123456789012:role/ops/deploy/Deployer").name == "Deployer"


def test_domains_are_named_and_ordered_for_people() -> None:
    role = Role("arn:aws:iam::123456789012:role/Deployer")
    assert describe(role) == "account 123456789012"
    assert describe("prod") == "profile prod"
    assert label((role, "eu-west-2")) == "123456789012/eu-west-2"
    assert label((None, "eu-west-2")) == "eu-west-2"
    assert ReportDomain(*kinded((role, "eu-west-2"))).label == "123456789012 / eu-west-2"
    assert kinded(("prod", "us-east-1")) == ("profile", "prod", "us-east-1")
    domains: list[Domain] = [(role, "us-east-1"), ("prod", "us-east-1"), (None, "us-east-1")]
    ordered = sorted(domains, key=sort_key)
    assert ordered == [(None, "us-east-1"), ("prod", "us-east-1"), (role, "us-east-1")]


def test_learned_rates_of_roles_and_profiles_survive_the_sidecar(tmp_path: Path) -> None:
    role = Role("arn:aws-cn:iam::123456789012:role/Deployer")
    rates: dict[Domain, float] = {
        (role, "cn-north-1"): 4.5,
        ("prod", "us-east-1"): 7.0,
        (None, "eu-west-2"): 3.0,
    }
    save_meta(tmp_path / "r.csv", RunMeta(learned_rates=rates))
    assert load_meta(tmp_path / "r.csv").learned_rates == rates


def scan_rows(tmp_path: Path, lines: list[str], role_name: str | None) -> input_file.Scan:
    source = tmp_path / "in.csv"
    source.write_text("\n".join(lines) + "\n")
    return input_file.scan(source, default_region="us-east-1", needs_settings=True, role_name=role_name)


def test_rows_of_an_account_get_its_role_in_their_regions_partition(tmp_path: Path) -> None:
    header = (
        "voice_connector_id,DefaultSessionExpiryMinutes,PhoneNumberPoolCountries,Region,account_id,ROLEARN"
    )
    scan = scan_rows(
        tmp_path,
        [
            header,
            "vc-1,5,US,,123456789012,",
            "vc-2,5,US,cn-north-1,123456789012,",
            "vc-3,5,US,,,arn:aws:iam::210987654321:role/path/Other",
            "vc-4,5,US,,,",
        ],
        role_name="Deployer",
    )
    assert scan.ok
    rows = [item for item in scan.rows() if isinstance(item, Row)]
    assert [row.target.domain for row in rows] == [
        (Role("arn:aws:iam::123456789012:role/Deployer"), "us-east-1"),
        (Role("arn:aws-cn:iam::123456789012:role/Deployer"), "cn-north-1"),
        (Role("arn:aws:iam::210987654321:role/path/Other"), "us-east-1"),
        (None, "us-east-1"),
    ]
    # A row without a role keeps the fingerprint it had before accounts existed; with one, it differs.
    assert rows[3].fingerprint() != rows[0].fingerprint()


def test_the_summary_lists_refused_accounts_and_names_account_domains() -> None:
    stats = RunStats(total=2)
    role = Role("arn:aws:iam::123456789012:role/Deployer")
    stats.on_outcome((role, "us-east-1"), Outcome(status=Status.OK, attempts=1))
    stats.on_outcome((role, "eu-west-2"), Outcome(status=Status.SKIPPED))
    stats.refused["account 123456789012"] = "AssumeRole … refused (AccessDenied)"
    text = render(Summary(command="run", stats=stats, results_path=None, failures_path=None))
    assert "by profile/account and region:" in text
    assert "123456789012 / eu-west-2" in text
    assert "refused:  account 123456789012: AssumeRole … refused (AccessDenied)" in text
