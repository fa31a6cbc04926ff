"""The API operations a run can apply to each row, all behind one interface (``base.Operation``).

Each operation is generic over a ``settings.Setting`` (the proxy is one setting among several, see
docs/reference.md §9): put, delete, plan and restore are one module each, parameterised by the
setting. The engine never names an operation: it hands each row and a ``Caller`` to ``Operation.apply``. A
``Caller`` sends one API request with the engine's rate limit, attempt counting and retry policy around
it, and raises ``errors.CallFailed`` when the request finally fails. Everything else a command does
differently (row preparation, whole-input checks, the sink, output paths, next commands) is asked of
the operation too.
"""

from batchproxy.operations.base import (
    Applied,
    Background,
    Caller,
    NextCommands,
    Operation,
    OutputPaths,
    Sink,
    SinkEnding,
    SinkOpening,
    SinkResult,
)
from batchproxy.operations.delete_setting import DeleteSetting, refuse_undeletable
from batchproxy.operations.plan_setting import PlanSetting
from batchproxy.operations.put_setting import PutSetting
from batchproxy.operations.restore_setting import RestoreSetting

__all__ = [
    "Applied",
    "Background",
    "Caller",
    "DeleteSetting",
    "NextCommands",
    "Operation",
    "OutputPaths",
    "PlanSetting",
    "PutSetting",
    "RestoreSetting",
    "Sink",
    "SinkEnding",
    "SinkOpening",
    "SinkResult",
    "refuse_undeletable",
]
