"""The API operations a run can apply to each row, all behind one interface (``base.Operation``).

The engine never names an operation: it hands each row and a ``Caller`` to ``Operation.apply``. A
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
from batchproxy.operations.delete_proxy import DeleteProxy
from batchproxy.operations.plan_proxy import PlanProxy
from batchproxy.operations.put_proxy import PutProxy
from batchproxy.operations.restore_proxy import RestoreProxy

__all__ = [
    "Applied",
    "Background",
    "Caller",
    "DeleteProxy",
    "NextCommands",
    "Operation",
    "OutputPaths",
    "PlanProxy",
    "PutProxy",
    "RestoreProxy",
    "Sink",
    "SinkEnding",
    "SinkOpening",
    "SinkResult",
]
