"""What every Centra dialect over HTTP shares: the error table, bounded answers, the clients.

- ``table``: one table classifying each outcome of a request (an answer's status, a failure,
  an unreadable body, a request that cannot be built) into the answer or a core error, for a
  call that moves money and for any other call. Pure: dialects' decoders use it too, so the
  in-process fake and the HTTP clients raise the same errors.
- ``answers``: how Centra's REST dialects answer (carts, actions, orders, error bodies,
  declines, out of stock), decoded once for the Shop API and the Checkout API. Pure.
- ``body``: an answer's body within its limits on the wire and after decompression.
- ``exchange``: one call's life (build, send, read within the deadline, classify, log, retry
  reads), written once as a generator for both clients.
- ``client``: ``HttpClient`` and ``AsyncHttpClient``, each on one long-lived httpx client;
  a dialect's clients (``orderflow.adapters.shop_api``) are these with their dialect.

Names are loaded on first use (constants such as ``client.DEFAULT_DEADLINE`` and
``table.TABLE`` live in their modules); ``table``, ``answers`` and ``body`` need no
httpx.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from orderflow.adapters._exports import lazy_exports

if TYPE_CHECKING:
    from orderflow.adapters.http.client import AsyncHttpClient, HttpClient, HttpOptions
    from orderflow.adapters.http.exchange import WireRequest
    from orderflow.adapters.http.table import Outcome, Verdict

_CLIENT = "orderflow.adapters.http.client"
_HOMES = {
    "AsyncHttpClient": _CLIENT,
    "HttpClient": _CLIENT,
    "HttpOptions": _CLIENT,
    "Outcome": "orderflow.adapters.http.table",
    "Verdict": "orderflow.adapters.http.table",
    "WireRequest": "orderflow.adapters.http.exchange",
}

__all__ = [
    "AsyncHttpClient",
    "HttpClient",
    "HttpOptions",
    "Outcome",
    "Verdict",
    "WireRequest",
]

__getattr__ = lazy_exports(__name__, _HOMES)
