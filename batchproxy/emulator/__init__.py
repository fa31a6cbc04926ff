"""A local Amazon Chime SDK Voice endpoint, faithful enough that an unmodified boto3 client works.

    async with serve(EmulatorConfig(rate=50, connectors=(("us-east-1", "vc-1"),))) as emulator:
        client = boto3.client("chime-sdk-voice", endpoint_url=emulator.url, ...)
        emulator.state.proxy("us-east-1", "vc-1")
        emulator.state.setting("us-east-1", "vc-1", "Termination")
        emulator.account("111122223333").connectors("eu-west-2")   # after an AssumeRole into it

Modules, in the order a request meets them:

    protocol    routes, input members, validation and error shapes, from the botocore model
    settings    the voice-connector settings served, each read from the model
    auth        the SigV4 header's credential scope (region, service, access key id)
    sts         STS AssumeRole in the query protocol, and its dials
    sessions    temporary keys: which account each belongs to, until when
    faults      per-(account, region) token bucket, seeded fault dice, seeded latency
    operations  what each API operation does to the state
    state       one account's connectors and their settings, per region
    accounts    every account's state; ordinary keys reach the default account
    stats       counters by operation and outcome, arrival times, writes per account, AssumeRole calls
    app         the aiohttp application and ``serve``
    control     ``/_emulator/*`` endpoints: stats, state, runtime dials, seeding
    command     the ``batchproxy emulator`` CLI
"""

from batchproxy.emulator.accounts import Accounts
from batchproxy.emulator.app import Emulator, serve
from batchproxy.emulator.config import EmulatorConfig
from batchproxy.emulator.settings import Setting, settings
from batchproxy.emulator.state import ACCOUNT_ID, Connector, EmulatorState, Proxy
from batchproxy.emulator.stats import Arrival, Stats

__all__ = [
    "ACCOUNT_ID",
    "Accounts",
    "Arrival",
    "Connector",
    "Emulator",
    "EmulatorConfig",
    "EmulatorState",
    "Proxy",
    "Setting",
    "Stats",
    "serve",
    "settings",
]
