"""Who signs a row's requests: a profile (or the default chain), or a role assumed in an account.

A rate domain is (principal, region) (docs/reference.md §8, §10). A profile stays a plain ``str`` (None: the
run's --profile or the default chain), as it always was; an assumed role is a ``Role``, a small frozen
value keyed by its ARN, so each role gets one domain per region, one AssumeRole per run and one
session. ``describe`` is the one place that names a principal for people (summary, logs, progress).

Role ARNs are ``arn:<partition>:iam::<12 digits>:role/<path/>name``; the partition follows the region
(``aws-cn`` for ``cn-*``, ``aws-us-gov`` for ``us-gov-*``, else ``aws``), as IAM's ARN reference has it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

__all__ = [
    "ACCOUNT_ID",
    "Domain",
    "Principal",
    "PrincipalKind",
    "Role",
    "describe",
    "kind_of",
    "kinded",
    "label",
    "name_of",
    "partition_of",
    "role_for_account",
    "sort_key",
    "valid_role_name",
]

# fullmatch; [0-9] rather than \d (any script's digits).
ACCOUNT_ID = re.compile(r"[0-9]{12}")
# IAM's role-name characters (1-64) and path segments; the partition is one of AWS's three.
_ROLE_NAME = re.compile(r"[\w+=,.@-]{1,64}", re.ASCII)
_ROLE_ARN = re.compile(
    r"arn:(?P<partition>aws|aws-cn|aws-us-gov):iam::(?P<account>[0-9]{12}):role/"
    r"(?:[\w+=,.@-]+/)*(?P<name>[\w+=,.@-]{1,64})",
    re.ASCII,
)

PrincipalKind = Literal["profile", "account"]


@dataclass(frozen=True, slots=True)
class Role:
    """An IAM role to assume; built only from a checked ARN (``parse``, ``role_for_account``)."""

    arn: str

    @property
    def account(self) -> str:
        return self.arn.split(":", 5)[4]

    @property
    def partition(self) -> str:
        return self.arn.split(":", 2)[1]

    @property
    def name(self) -> str:
        return self.arn.rsplit("/", 1)[-1]

    @classmethod
    def parse(cls, text: str) -> Role:
        """The role ``text`` names; ``ValueError`` saying what is wrong when it is not a role ARN."""
        if _ROLE_ARN.fullmatch(text) is None:
            raise ValueError(
                "is not an IAM role ARN such as arn:aws:iam::123456789012:role/Name "
                "(partition aws, aws-cn or aws-us-gov; 12-digit account)"
            )
        return cls(text)


Principal = str | Role | None
"""A profile name, an assumed role, or None for the run's --profile / the default credential chain."""

Domain = tuple[Principal, str]
"""(principal, region): one client, one rate ceiling, one view of throttling."""


def partition_of(region: str) -> str:
    """The ARN partition a region belongs to."""
    if region.startswith("cn-"):
        return "aws-cn"
    if region.startswith("us-gov-"):
        return "aws-us-gov"
    return "aws"


def valid_role_name(name: str) -> bool:
    return _ROLE_NAME.fullmatch(name) is not None


def role_for_account(account: str, role_name: str, region: str) -> Role:
    """``arn:<partition of region>:iam::<account>:role/<role_name>`` (both already checked)."""
    return Role(f"arn:{partition_of(region)}:iam::{account}:role/{role_name}")


def kind_of(principal: Principal) -> PrincipalKind:
    return "account" if isinstance(principal, Role) else "profile"


def name_of(principal: Principal) -> str | None:
    """The account id of a role, the profile's name, or None for the default chain."""
    return principal.account if isinstance(principal, Role) else principal


def kinded(domain: Domain) -> tuple[PrincipalKind, str | None, str]:
    """(kind, name, region): how events, the report (``report.domain.Domain``) and shards name a
    domain; an assumed role is named by its account."""
    principal, region = domain
    return kind_of(principal), name_of(principal), region


def describe(principal: Principal) -> str:
    """For people: ``account 123456789012``, ``profile prod``, or ``the default credentials``."""
    if isinstance(principal, Role):
        return f"account {principal.account}"
    return "the default credentials" if principal is None else f"profile {principal}"


def label(domain: Domain) -> str:
    """A domain in one short token, as the summary and progress show it: ``name/region`` or ``region``."""
    principal, region = domain
    name = name_of(principal)
    return region if name is None else f"{name}/{region}"


def sort_key(domain: Domain) -> tuple[int, str, str]:
    """Profiles before accounts, then by name and region (Role and str do not compare)."""
    principal, region = domain
    return (1 if isinstance(principal, Role) else 0, name_of(principal) or "", region)
