"""The selection (Centra's cart) and the answer every cart-changing call returns."""

from __future__ import annotations

from typing import Any

import attrs

from orderflow.address import Address
from orderflow.money import CurrencyFormat, Money
from orderflow.receipt import Discounts, Item, Totals


@attrs.frozen
class Selection:
    """The cart: its lines, discounts and totals (``$.selection`` in Centra's answer)."""

    selection: str
    currency: str
    items: tuple[Item, ...]
    totals: Totals
    discounts: Discounts | None = None
    currency_format: CurrencyFormat | None = None
    payment_method: str | None = None
    shipping_method: str | None = None
    country: str | None = None
    language: str | None = None
    address: Address | None = None
    shipping_address: Address | None = None
    extra: dict[str, Any] = attrs.field(factory=dict, eq=False, repr=False)


@attrs.frozen
class PaymentMethod:
    """A payment method the selection can be paid with.

    ``supports_initiate_only``: it can start with ``paymentInitiateOnly`` (a widget set up
    before the shopper's details are known); ``handling_cost``: what choosing it adds.
    """

    payment_method: str
    name: str | None = None
    payment_method_type: str | None = None
    supports_initiate_only: bool | None = None
    handling_cost: Money | None = None
    extra: dict[str, Any] = attrs.field(factory=dict, eq=False, repr=False)


@attrs.frozen
class ShippingMethod:
    """A shipping method the selection can be shipped with."""

    shipping_method: str
    name: str | None = None
    price: Money | None = None
    extra: dict[str, Any] = attrs.field(factory=dict, eq=False, repr=False)


@attrs.frozen
class Location:
    """Where the shopper is; ``ship_to`` false means the checkout cannot complete.

    ``language`` is the country's default language, not necessarily the selection's.
    """

    country: str | None = None
    name: str | None = None
    state: str | None = None
    state_name: str | None = None
    eu: bool | None = None
    ship_to: bool = True
    language: Any = None
    extra: dict[str, Any] = attrs.field(factory=dict, eq=False, repr=False)


@attrs.frozen
class UnavailableItem:
    """An item Centra removed from the selection because it is out of stock (a 410 answer)."""

    item: str
    original_quantity: int
    unavailable: int
    available: int
    product: str | None = None
    extra: dict[str, Any] = attrs.field(factory=dict, eq=False, repr=False)


@attrs.frozen
class SelectionResponse:
    """What a cart-changing call answers: the selection and what the checkout can use with it.

    ``unavailable`` lists what Centra left out for want of stock (its aggressive stock mode
    answers a cart change 200 with such a list).
    """

    selection: Selection
    payment_methods: tuple[PaymentMethod, ...] = ()
    shipping_methods: tuple[ShippingMethod, ...] = ()
    location: Location | None = None
    token: str | None = attrs.field(default=None, eq=False, repr=False)
    unavailable: tuple[UnavailableItem, ...] = ()
    extra: dict[str, Any] = attrs.field(factory=dict, eq=False, repr=False)

    @property
    def selection_id(self) -> str:
        """The selection's id (Centra's ``selection`` field)."""
        return self.selection.selection
