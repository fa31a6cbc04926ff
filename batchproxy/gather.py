"""What a run gathers from the one pass that validates its input (CONTRACT §1, §4).

On --resume the journal is locked and read first, so that the validating pass can also decide, row by
row, what to send again; the same pass collects the (profile, region) pairs whose credentials to check
and, under --emulate, the connectors to seed the emulator with.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass

from batchproxy import input as input_file
from batchproxy.config import RunConfig
from batchproxy.endpoint import Targets
from batchproxy.journal import Journal, OpenMode, Reservation, ResumePlan, ResumeReason
from batchproxy.logs import get_logger
from batchproxy.restore import restorable
from batchproxy.rows import Row

__all__ = ["Gathered", "Reserved", "gatherer", "reserved_for_resume"]

log = get_logger(__name__)


@dataclass(frozen=True, slots=True)
class Reserved:
    header: input_file.Header
    reservation: Reservation


@contextlib.contextmanager
def reserved_for_resume(
    config: RunConfig, *, needs_settings: bool, resume: bool
) -> Iterator[Reserved | None]:
    """On --resume, lock and read the journal before the input is validated: the pass that validates
    the input also decides, row by row, what to send again. Nothing is written to the file yet."""
    if not resume:
        yield None
        return
    header = input_file.read_input_header(config.input_path, needs_settings=needs_settings)
    with Journal.reserve(config.results_path, header.names, OpenMode.RESUME) as reservation:
        yield Reserved(header, reservation)


def gatherer(command: str, config: RunConfig, reserved: Reserved | None) -> Gathered:
    if reserved is None:
        return Gathered(emulate=config.emulate, plan=None, restore_header=None)
    plan = ResumePlan(reserved.reservation.state, retry_failed=config.retry_failed)
    restore = reserved.header if command == "rollback" else None
    return Gathered(emulate=config.emulate, plan=plan, restore_header=restore)


class Gathered:
    """What a run needs of every input row, taken from the pass that validates them (``scan``'s observer).

    Memory stays flat: a resume plan at a byte per row, the distinct (profile, region) pairs; the
    connectors to seed the emulator with only under --emulate.
    """

    def __init__(
        self, *, emulate: bool, plan: ResumePlan | None, restore_header: input_file.Header | None
    ) -> None:
        self.targets = Targets(emulate=emulate)
        self.plan = plan
        self.already_done = 0  # rows the plan found final, once settled
        self._restore_header = restore_header  # rollback: rows are sent with their snapshot's settings
        self._invalid = 0

    def __call__(self, item: Row | input_file.InvalidRow) -> None:
        if not isinstance(item, Row):
            self._invalid += 1
            if self.plan is not None:
                self.plan.add(item, None)
            return
        self.targets.add(item)
        if self.plan is not None:
            self.plan.add(item, self._sendable(item))

    def _sendable(self, row: Row) -> Row | None:
        if self._restore_header is None:
            return row
        restored = restorable(row, self._restore_header)
        return restored if isinstance(restored, Row) else None  # an outcome is recorded, never sent

    def settle(self, scan: input_file.Scan) -> None:
        """After the scan: account for rows found to be duplicates, and check the input on resume."""
        if scan.invalid_row_count > self._invalid:
            # Duplicates are found after the main pass, so a row this observer took as valid may not
            # be: gather the targets again from the valid rows only. Rare, and only with --skip-invalid.
            self.targets = Targets(emulate=self.targets.emulate)
            for item in scan.rows():
                if isinstance(item, Row):
                    self.targets.add(item)
        if self.plan is None:
            return
        check = self.plan.finish()  # refuses another input file before anything is sent
        if check.disappeared:
            log.warning(
                "rows in the results file are no longer in the input", detail=check.describe_disappeared()
            )
        done = ResumeReason.DONE
        invalid_done = sum(1 for number in scan.invalid_rows() if self.plan.reason(number) is done)
        self.already_done = self.plan.count(done) - invalid_done
