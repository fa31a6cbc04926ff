"""Per-request work botocore repeats for every call that batchproxy can do once per client.

Two things, both measured with py-spy on ``bench/compare.py`` scenario (c), both leaving the bytes on
the wire unchanged (``tests/test_wire_bytes.py`` compares them with a stock client's):

* The User-Agent header. botocore rebuilds it from about a dozen components on every request (a
  ``request-created`` handler that sanitises each component with a generator per character): 6-8% of
  a run's CPU. The string only changes with the set of feature ids the request's context carries, so
  it is built once per distinct set and reused.
* Parameter validation is switched off in the client's config (``clients.ClientPool``), not here: the
  input pass already checked every value against the same service model (``settings.schema``).
"""

from __future__ import annotations

from typing import Any

from botocore.context import get_context

__all__ = ["CachedUserAgent", "cache_user_agent"]


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
