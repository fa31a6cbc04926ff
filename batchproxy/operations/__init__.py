"""The API operations a run can apply to each row, all behind one small interface.

The engine never names an operation: it hands each row and a ``Caller`` to ``Operation.apply``.
A ``Caller`` sends one API request with the engine's rate limit, attempt counting and retry policy
around it, and raises ``errors.CallFailed`` when the request finally fails.
"""

from batchproxy.operations.base import Applied, Caller, Operation
from batchproxy.operations.delete_proxy import DeleteProxy
from batchproxy.operations.plan_proxy import PlanProxy
from batchproxy.operations.put_proxy import PutProxy
from batchproxy.operations.restore_proxy import RestoreProxy

__all__ = ["Applied", "Caller", "DeleteProxy", "Operation", "PlanProxy", "PutProxy", "RestoreProxy"]
