"""Per-request work botocore repeats for every call that batchproxy can do once per client.

Four things, all measured with py-spy on ``bench/compare.py`` scenario (c), both leaving the bytes on
the wire unchanged (``tests/test_wire_bytes.py`` compares them with a stock client's):

* The User-Agent header. botocore rebuilds it from about a dozen components on every request (a
  ``request-created`` handler that sanitises each component with a generator per character): 6-8% of
  a run's CPU. The string only changes with the set of feature ids the request's context carries, so
  it is built once per distinct set and reused.
* The signature's ``host``. SigV4 signing works the host out of the request's URL on every request
  (``botocore.auth._host_from_url``: two URL parses and a regular expression, ~4% of a run's CPU),
  but it depends only on the URL's scheme and authority, which are the same for every request of a
  client. ``remember_hosts`` makes botocore keep the answer per scheme and authority.
* The endpoint. botocore runs the service's endpoint ruleset for every request (~2% of a run's CPU).
  Where the ruleset's only inputs are the client's own settings (region, FIPS, dual-stack, endpoint
  URL) and the operation takes none from its parameters, the answer cannot change between requests
  of one client: ``remember_endpoints`` keeps it per operation.
* Parameter validation is switched off in the client's config (``clients.ClientPool``), not here: the
  input pass already checked every value against the same service model (``settings.schema``).
"""

from __future__ import annotations

import functools
from typing import Any

import botocore.auth
from botocore.context import get_context
from botocore.utils import UNSAFE_URL_CHARS

__all__ = [
    "CachedUserAgent",
    "botocore_host_from_url",
    "cache_user_agent",
    "host_from_url",
    "remember_endpoints",
    "remember_hosts",
]

# Endpoint-ruleset parameters botocore fills from the client's configuration alone. A ruleset with any
# other parameter (an account id, a bucket...) is resolved afresh for every request.
_CLIENT_SETTINGS = frozenset({"Region", "UseFIPS", "UseDualStack", "Endpoint"})


class CachedUserAgent:
    """A client's ``UserAgentString``, remembering its string per feature set.

    botocore asks for the string twice per request: when it builds the request (a placeholder that is
    always replaced) and in the ``request-created`` handler that puts in the final one. Both come here.
    The rest of what goes into the string (SDK, OS, language, config, app id, extras) is fixed when the
    client is made; only the request context's feature ids vary, so they are the cache key.
    """

    __slots__ = ("_by_features", "_creator")

    def __init__(self, creator: Any) -> None:
        self._creator = creator
        self._by_features: dict[frozenset[str], str] = {}

    def to_string(self) -> str:
        context = get_context()
        key = frozenset(context.features) if context is not None else frozenset()
        text = self._by_features.get(key)
        if text is None:
            text = self._by_features[key] = str(self._creator.to_string())
        return text

    def rebuild_and_replace_user_agent_handler(self, request: Any, **kwargs: Any) -> None:
        """As botocore's handler of the same name, with the remembered string."""
        if request.headers.get("User-Agent"):
            request.headers.replace_header("User-Agent", self.to_string())

    def __getattr__(self, name: str) -> Any:
        return getattr(self._creator, name)


def cache_user_agent(client: Any) -> None:
    """Give ``client`` the remembering User-Agent builder, for both places botocore asks for it."""
    creator = client._user_agent_creator
    cached = CachedUserAgent(creator)
    event = f"request-created.{client.meta.service_model.service_id.hyphenize()}"
    client.meta.events.unregister(event, creator.rebuild_and_replace_user_agent_handler)
    client.meta.events.register_last(event, cached.rebuild_and_replace_user_agent_handler)
    client._user_agent_creator = cached


def remember_endpoints(client: Any) -> None:
    """Resolve ``client``'s endpoint once per operation where nothing of a request goes into it."""
    resolver = client._ruleset_resolver
    if resolver is None or not set(resolver._param_definitions) <= _CLIENT_SETTINGS:
        return
    resolve = resolver.construct_endpoint
    answers: dict[str, Any] = {}

    async def construct_endpoint(operation_model: Any, call_args: Any, request_context: Any) -> Any:
        if _takes_endpoint_parameters(operation_model):
            return await resolve(operation_model, call_args, request_context)
        answer = answers.get(operation_model.name)
        if answer is None:
            answer = answers[operation_model.name] = await resolve(
                operation_model, call_args, request_context
            )
        return answer

    resolver.construct_endpoint = construct_endpoint


def _takes_endpoint_parameters(operation_model: Any) -> bool:
    return bool(
        operation_model.static_context_parameters
        or operation_model.context_parameters
        or getattr(operation_model, "operation_context_parameters", None)
    )


botocore_host_from_url = botocore.auth._host_from_url  # botocore's own, kept before it is replaced


@functools.lru_cache(maxsize=256)
def _host_of_origin(origin: str) -> str:
    return str(botocore_host_from_url(origin))


def host_from_url(url: str) -> str:
    """botocore's ``_host_from_url``, remembered per ``scheme://authority``.

    The host, its brackets and its port come only from that part of the URL. botocore's IPv6 check
    also looks at the whole URL for characters no valid URL has; such a URL is left to botocore.
    """
    start = url.find("://")
    if start < 0 or UNSAFE_URL_CHARS.intersection(url):
        return str(botocore_host_from_url(url))
    authority_end = len(url)
    for mark in "/?#":
        found = url.find(mark, start + 3)
        if 0 <= found < authority_end:
            authority_end = found
    return _host_of_origin(url[:authority_end])


def remember_hosts() -> None:
    """Have botocore's SigV4 signing use ``host_from_url`` (idempotent; for the whole process).

    The signer reads the module-level function at each call, so this is where it can be given.
    """
    botocore.auth._host_from_url = host_from_url
