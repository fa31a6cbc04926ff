"""The AccountId and RoleArn columns (docs/reference.md §10): each cell alone, then what a row may combine.

A row is signed by a profile (its Profile cell, or the run's) or by a role assumed in an account: the
AccountId cell with --role-name, or the RoleArn cell naming the role in full. Every way of getting
that wrong is found here, in the validating pass, so that a bad row stops the run before anything is
sent, STS included.
"""

from __future__ import annotations

from dataclasses import dataclass

from batchproxy.columns import ACCOUNT_ID, PROFILE, ROLE_ARN
from batchproxy.input._problems import Problem
from batchproxy.principal import ACCOUNT_ID as ACCOUNT_PATTERN
from batchproxy.principal import Role, partition_of, role_for_account

__all__ = ["CellError", "RoleColumns", "account_cell", "role_arn_cell"]


class CellError(ValueError):
    """A cell breaks one of these columns' rules; the message says which."""


def account_cell(text: str) -> str | None:
    if text == "":
        return None
    if ACCOUNT_PATTERN.fullmatch(text) is None:
        raise CellError("must be a 12-digit AWS account id, written with the digits 0-9 only")
    return text


def role_arn_cell(text: str) -> Role | None:
    if text == "":
        return None
    try:
        return Role.parse(text)
    except ValueError as exc:
        raise CellError(str(exc)) from None


@dataclass(frozen=True, slots=True)
class RoleColumns:
    """What a row's principal cells may combine, given the run's --role-name."""

    role_name: str | None

    def problems(
        self, number: int, cells: dict[str, str], role: Role | None, region: str | None
    ) -> list[Problem]:
        """The row-level problems; ``cells`` holds the Profile, AccountId and RoleArn cells as read."""
        account, arn, profile = cells[ACCOUNT_ID], cells[ROLE_ARN], cells[PROFILE]
        found: list[Problem] = []
        if account and arn:
            found.append(
                Problem(number, ROLE_ARN, arn, "a row names its role by AccountId or by RoleArn, not both")
            )
        if profile and (account or arn):
            found.append(
                Problem(number, PROFILE, profile, "a row sets Profile or AccountId/RoleArn, not both")
            )
        # A malformed AccountId is already reported by its cell rule; one problem per cell is enough.
        if account and self.role_name is None and ACCOUNT_PATTERN.fullmatch(account):
            found.append(
                Problem(
                    number,
                    ACCOUNT_ID,
                    account,
                    "needs --role-name, the role to assume in this account (or name it in a RoleArn column)",
                )
            )
        if role is not None and region is not None and role.partition != partition_of(region):
            found.append(
                Problem(
                    number,
                    ROLE_ARN,
                    arn,
                    f"is in partition {role.partition}, but the row's region {region} is in "
                    f"{partition_of(region)}",
                )
            )
        return found

    def role(self, account: str | None, arn: Role | None, region: str) -> Role | None:
        """The row's role once its cells are valid: from RoleArn, or AccountId and --role-name."""
        if arn is not None:
            return arn
        if account is not None and self.role_name is not None:
            return role_for_account(account, self.role_name, region)
        return None
