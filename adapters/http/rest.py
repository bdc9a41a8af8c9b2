"""What Centra's two REST dialects (the Shop API and the Checkout API) share: an endpoint
(``Route``) and one request to it with the decoder of its answer (``Request``, a
``WireRequest``). Each dialect keeps its own routes, paths and builders."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, Generic, TypeVar

import attrs

from orderflow.adapters.http import table
from orderflow.adapters.http.paths import segment
from orderflow.calls import CallKind

__all__ = ["Decoder", "Follow", "Request", "Route"]

T = TypeVar("T")

Decoder = Callable[[str, int, Any], T]
"""``decoder(label, status, body)``: the answer of a request that passed the error table."""

Follow = Callable[[T, Mapping[str, str]], "Request[T] | None"]
"""``follow(answer, headers)``: the call's next request (sent with ``headers``), or ``None``."""

_KINDS = frozenset(kind.value for kind in CallKind)


@attrs.frozen
class Route:
    """One endpoint: its stable ``name`` (a call kind's value, or the endpoint's own), its
    method and its path template."""

    name: str
    method: str
    template: str

    @property
    def kind(self) -> CallKind | None:
        """The call this endpoint carries; ``None`` for one no call of ours is (a receipt read,
        setting a payment method)."""
        return CallKind(self.name) if self.name in _KINDS else None

    @property
    def label(self) -> str:
        """How errors name the endpoint: ``"POST /selections/{selection}/payment"``."""
        return f"{self.method} {self.template}"

    def request(
        self,
        decoder: Decoder[T],
        body: dict[str, Any] | None = None,
        *,
        params: Mapping[str, object] | None = None,
        moves_money: bool = False,
        headers: Mapping[str, str] | None = None,
        follow: Follow[T] | None = None,
    ) -> Request[T]:
        """A request to this endpoint, each of ``params`` quoted into its path segment."""
        filled = {name: segment(value) for name, value in (params or {}).items()}
        path = self.template.format_map(filled)
        return Request(self, path, decoder, body, moves_money, headers or {}, follow)


@attrs.frozen
class Request(Generic[T]):
    """One HTTP request and the decoder of its answer (a ``WireRequest``).

    ``decode(status, body)`` returns the core type or raises the core error: the status
    through the error table first, then the endpoint's ``decoder``. ``headers`` are this
    request's own; ``follow``, when set, builds the call's next request from this one's answer
    (``then``).
    """

    route: Route
    path: str
    decoder: Decoder[T] = attrs.field(repr=False)
    body: dict[str, Any] | None = None
    moves_money: bool = False
    headers: Mapping[str, str] = attrs.field(factory=dict, repr=False)
    follow: Follow[T] | None = attrs.field(default=None, repr=False)

    @property
    def method(self) -> str:
        """The HTTP method."""
        return self.route.method

    @property
    def endpoint(self) -> str:
        """The endpoint's stable name, e.g. ``"payment_result"``."""
        return self.route.name

    @property
    def label(self) -> str:
        """How errors name the endpoint (``Route.label``)."""
        return self.route.label

    @property
    def template(self) -> str:
        """The path template, without the ids (what logs show)."""
        return self.route.template

    def decode(self, status: int, body: Any) -> T:
        """The answer, or the core error (see ``orderflow.adapters.http.table``)."""
        label = self.route.label
        return table.decoded(
            status,
            body,
            lambda s, b: self.decoder(label, s, b),
            endpoint=label,
            moves_money=self.moves_money,
            read=self.route.method == "GET",
        )

    def then(self, answer: T) -> Request[T] | None:
        """The call's next request; ``None`` when the call is done."""
        return None if self.follow is None else self.follow(answer, self.headers)
