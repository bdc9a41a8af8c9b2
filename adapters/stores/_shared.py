"""What the stores share: the version a save gives, and (for the two SQL stores) the decoded-
checkout cache, the load and save prologues and the context-manager life cycle.

Decoding a stored checkout costs far more than reading it (its cart alone is ~40 objects), and
a service loads the same checkout again and again while a shopper pays. ``DecodedCheckouts``
keeps the last decoded checkouts and hands one back when the stored text is exactly the text
it was decoded from, so a stale object can never be returned: any change to the row is a
change to the text.
"""

from __future__ import annotations

import threading
from types import TracebackType
from typing import Self

import attrs

from orderflow.checkout import Checkout
from orderflow.codec import dumps, loads
from orderflow.errors import CheckoutNotFound


def versioned(checkout: Checkout, expected_version: int) -> Checkout:
    """``checkout`` as a save stores it: with ``version`` ``expected_version + 1``."""
    if checkout.version == expected_version + 1:
        return checkout
    return attrs.evolve(checkout, version=expected_version + 1)


class DecodedCheckouts:
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


class SQLStore:
    """The part of a SQL store that is not SQL: bodies in and out, and its life cycle.

    Subclasses run the statements and implement ``close``.
    """

    def __init__(self, cache_size: int) -> None:
        self._decoded = DecodedCheckouts(cache_size)

    def _loaded(self, checkout_id: str, row: tuple[int, str] | None) -> Checkout:
        """The checkout a ``(version, body)`` row holds. Raises ``CheckoutNotFound``."""
        if row is None:
            raise CheckoutNotFound(checkout_id)
        version, body = row
        checkout = self._decoded.decode(checkout_id, body)
        return checkout if checkout.version == version else attrs.evolve(checkout, version=version)

    def _to_save(self, checkout: Checkout, expected_version: int) -> tuple[Checkout, str]:
        """The checkout a save stores, and its body."""
        saved = versioned(checkout, expected_version)
        return saved, self._decoded.encode(saved)

    def close(self) -> None:
        """Release the store's connections; the store cannot be used afterwards."""
        raise NotImplementedError

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()
