"""Stored checkout bodies: JSON text to ``Checkout`` and back, reusing what was decoded.

Decoding a stored checkout costs far more than reading it (its cart alone is ~40 objects), and
a service loads the same checkout again and again while a shopper pays. ``CheckoutBodies``
keeps the last decoded checkouts and hands one back when the stored text is exactly the text
it was decoded from, so a stale object can never be returned: any change to the row is a
change to the text.
"""

from __future__ import annotations

import threading

from orderflow.checkout import Checkout
from orderflow.codec import dumps, loads


class CheckoutBodies:
    """Encode and decode stored checkouts, keeping up to ``size`` decoded ones (0: none)."""

    def __init__(self, size: int = 256) -> None:
        self._size = size
        self._entries: dict[str, tuple[str, Checkout]] = {}
        self._lock = threading.Lock()

    def decode(self, checkout_id: str, body: str) -> Checkout:
        """The checkout stored as ``body``. Raises ``PayloadError`` for a damaged body."""
        known = self._entries.get(checkout_id)
        if known is not None and known[0] == body:
            return known[1]
        checkout = loads(body, Checkout, source=f"stored checkout {checkout_id!r}")
        self._keep(checkout_id, body, checkout)
        return checkout

    def encode(self, checkout: Checkout) -> str:
        """The JSON text to store for ``checkout``."""
        body = dumps(checkout)
        self._keep(checkout.id, body, checkout)
        return body

    def _keep(self, checkout_id: str, body: str, checkout: Checkout) -> None:
        if not self._size:
            return
        with self._lock:
            self._entries.pop(checkout_id, None)
            self._entries[checkout_id] = (body, checkout)
            if len(self._entries) > self._size:
                del self._entries[next(iter(self._entries))]
