"""Per-request work botocore repeats for every call that batchproxy can do once per client.

Six things, all measured with py-spy on ``bench/compare.py`` scenario (c), each leaving the bytes on
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
* The proxy. aiobotocore asks botocore's proxy configuration for the proxy of each request's URL
  and for its proxy headers, two URL parses per request (~1.4%); ``RememberedProxies`` keeps both
  answers per scheme and authority, the only parts of the URL they depend on.
* botocore's retry handler. With ``total_max_attempts=1`` it never retries, yet it runs after every
  response to decide so (~1.8% with its event): batchproxy's engine decides every retry
  (docs/reference.md §7), so ``drop_sdk_retries`` takes the handler off the client. What a caller
  sees is the same but for ``ResponseMetadata.MaxAttemptsReached``, which batchproxy never reads.
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
    "RememberedProxies",
    "botocore_host_from_url",
    "cache_user_agent",
    "drop_sdk_retries",
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


def drop_sdk_retries(client: Any) -> None:
    """Take botocore's retry handler (registered for any retry mode under this unique id) off ``client``."""
    service = client.meta.service_model.service_id.hyphenize()
    client.meta.events.unregister(f"needs-retry.{service}", unique_id=f"retry-config-{service}")


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
    origin = _origin(url)
    if origin is None or UNSAFE_URL_CHARS.intersection(url):
        return str(botocore_host_from_url(url))
    return _host_of_origin(origin)


def _origin(url: str) -> str | None:
    """``scheme://authority`` of ``url`` (up to the first ``/``, ``?`` or ``#`` after ``//``, as
    ``urlsplit`` takes it), or None for a URL without ``://``."""
    start = url.find("://")
    if start < 0:
        return None
    authority_end = len(url)
    for mark in "/?#":
        found = url.find(mark, start + 3)
        if 0 <= found < authority_end:
            authority_end = found
    return url[:authority_end]


class RememberedProxies:
    """botocore's ``ProxyConfiguration`` with its answers kept per ``scheme://authority``.

    aiobotocore asks for the proxy and the proxy headers of every request, each answer worked out
    with a URL parse; the proxy depends only on the URL's scheme, the headers only on credentials in
    its authority. Whatever else the session reads of its configuration is botocore's own.
    """

    def __init__(self, configuration: Any) -> None:
        self._configuration = configuration
        self._urls: dict[str, str | None] = {}
        self._headers: dict[str, dict[str, str]] = {}

    def proxy_url_for(self, url: str) -> str | None:
        origin = _origin(url)
        if origin is None:
            return self._configuration.proxy_url_for(url)  # type: ignore[no-any-return]
        if origin not in self._urls:
            self._urls[origin] = self._configuration.proxy_url_for(url)
        return self._urls[origin]

    def proxy_headers_for(self, url: str) -> dict[str, str]:
        origin = _origin(url)
        if origin is None:
            return self._configuration.proxy_headers_for(url)  # type: ignore[no-any-return]
        headers = self._headers.get(origin)
        if headers is None:
            headers = self._headers[origin] = dict(self._configuration.proxy_headers_for(url))
        return dict(headers)  # the caller's own, as botocore's answer is

    def __getattr__(self, name: str) -> Any:
        return getattr(self._configuration, name)


def remember_hosts() -> None:
    """Have botocore's SigV4 signing use ``host_from_url`` (idempotent; for the whole process).

    The signer reads the module-level function at each call, so this is where it can be given.
    """
    botocore.auth._host_from_url = host_from_url
