"""A local Amazon Chime SDK Voice endpoint, faithful enough that an unmodified boto3 client works.

    async with serve(EmulatorConfig(rate=50, connectors=(("us-east-1", "vc-1"),))) as emulator:
        client = boto3.client("chime-sdk-voice", endpoint_url=emulator.url, ...)
        emulator.state.proxy("us-east-1", "vc-1")

Modules, in the order a request meets them:

    protocol    routes, input members, validation and error shapes, from the botocore model
    auth        the SigV4 header's credential scope (region, service, access key id)
    faults      per-region token bucket, seeded fault dice, seeded latency
    operations  what each API operation does to the state
    state       connectors and proxies per region
    stats       counters by operation and outcome, arrival times
    app         the aiohttp application and ``serve``
    control     ``/_emulator/*`` endpoints: stats, state, runtime dials, seeding
    command     the ``batchproxy emulator`` CLI
"""

from batchproxy.emulator.app import Emulator, serve
from batchproxy.emulator.config import EmulatorConfig
from batchproxy.emulator.state import Connector, EmulatorState, Proxy
from batchproxy.emulator.stats import Arrival, Stats

__all__ = ["Arrival", "Connector", "Emulator", "EmulatorConfig", "EmulatorState", "Proxy", "Stats", "serve"]
