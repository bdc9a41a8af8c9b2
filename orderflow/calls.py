"""Centra's calls: each is a typed value naming what to ask and what its answer is.

A command of the service yields calls; a transport (``Transport.send``) carries one to Centra
and returns its answer, typed by the call (``AddItem`` answers a ``SelectionResponse``,
``StartPayment`` a ``PaymentAction``). Nothing names a call by a string: a call's ``kind`` is a
``CallKind``, stored where a checkout remembers an unsettled payment call and used by the fake
to count requests and by fault plans to pick them.

``moves_money`` marks the calls after which Centra may have taken money (``StartPayment``,
``PaymentResult``): the service calls them only through its money gate (claim, write-ahead
marker, call, settle), and a transport reports their lost answers as ``OutcomeUnknown``.

``token`` is the session token of dialects that have one (Centra's Checkout API); a dialect
without sessions ignores it.
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum
from typing import Any, ClassVar, Generic, TypeVar

import attrs

from orderflow.payment import PaymentAction, PaymentRequest
from orderflow.receipt import Receipt
from orderflow.selection import SelectionResponse

A = TypeVar("A", covariant=True)


class CallKind(StrEnum):
    """The kinds of Centra call, one per ``Call`` class."""

    CREATE_SELECTION = "create_selection"
    READ_SELECTION = "read_selection"
    ADD_ITEM = "add_item"
    SET_QUANTITY = "set_quantity"
    REMOVE_LINE = "remove_line"
    APPLY_VOUCHER = "apply_voucher"
    REMOVE_VOUCHER = "remove_voucher"
    SET_COUNTRY = "set_country"
    SET_CHECKOUT_FIELDS = "set_checkout_fields"
    START_PAYMENT = "start_payment"
    PAYMENT_RESULT = "payment_result"


class Call(Generic[A]):
    """A Centra call answering an ``A``. Subclasses are frozen attrs classes."""

    __slots__ = ()

    kind: ClassVar[CallKind]
    moves_money: ClassVar[bool] = False

    @property
    def label(self) -> str:
        """How messages name the call: its kind, and the selection when it has one."""
        selection = getattr(self, "selection", None)
        return f"{self.kind} of selection {selection}" if selection else str(self.kind)


@attrs.frozen
class CreateSelection(Call[SelectionResponse]):
    """Create a new, empty selection (in ``country``, or the shop's default)."""

    kind: ClassVar[CallKind] = CallKind.CREATE_SELECTION
    country: str | None = None


@attrs.frozen
class ReadSelection(Call[SelectionResponse | Receipt]):
    """Read the selection as it is now; once it became an order, Centra answers the order.

    This is how the service asks Centra whether money became an order: a ``Receipt`` answer
    says it did, a ``SelectionResponse`` that it did not.
    """

    kind: ClassVar[CallKind] = CallKind.READ_SELECTION
    selection: str
    token: str | None = attrs.field(default=None, kw_only=True, repr=False)


@attrs.frozen
class AddItem(Call[SelectionResponse]):
    """Add ``quantity`` of ``item`` (``<product>-<size>``); an unknown item is a field error."""

    kind: ClassVar[CallKind] = CallKind.ADD_ITEM
    selection: str
    item: str
    quantity: int
    token: str | None = attrs.field(default=None, kw_only=True, repr=False)


@attrs.frozen
class SetQuantity(Call[SelectionResponse]):
    """Set a line's quantity; 0 removes the line."""

    kind: ClassVar[CallKind] = CallKind.SET_QUANTITY
    selection: str
    line: str
    quantity: int
    token: str | None = attrs.field(default=None, kw_only=True, repr=False)


@attrs.frozen
class RemoveLine(Call[SelectionResponse]):
    """Remove a line."""

    kind: ClassVar[CallKind] = CallKind.REMOVE_LINE
    selection: str
    line: str
    token: str | None = attrs.field(default=None, kw_only=True, repr=False)


@attrs.frozen
class ApplyVoucher(Call[SelectionResponse]):
    """Add a voucher; an unknown code is a field error on ``voucher``."""

    kind: ClassVar[CallKind] = CallKind.APPLY_VOUCHER
    selection: str
    code: str
    token: str | None = attrs.field(default=None, kw_only=True, repr=False)


@attrs.frozen
class RemoveVoucher(Call[SelectionResponse]):
    """Remove a voucher."""

    kind: ClassVar[CallKind] = CallKind.REMOVE_VOUCHER
    selection: str
    code: str
    token: str | None = attrs.field(default=None, kw_only=True, repr=False)


@attrs.frozen
class SetCountry(Call[SelectionResponse]):
    """Set the shopper's country (prices, methods and ``location.shipTo`` follow it)."""

    kind: ClassVar[CallKind] = CallKind.SET_COUNTRY
    selection: str
    country: str
    token: str | None = attrs.field(default=None, kw_only=True, repr=False)


@attrs.frozen
class SetCheckoutFields(Call[SelectionResponse]):
    """Send the shopper's details (address, payment method) before paying."""

    kind: ClassVar[CallKind] = CallKind.SET_CHECKOUT_FIELDS
    selection: str
    details: PaymentRequest
    token: str | None = attrs.field(default=None, kw_only=True, repr=False)


@attrs.frozen
class StartPayment(Call[PaymentAction]):
    """Start the payment: Centra's final stock and field check, then one action for the shopper.

    Answers the action (``SuccessAction``: the order exists already; ``FailedAction``: declined).
    """

    kind: ClassVar[CallKind] = CallKind.START_PAYMENT
    moves_money: ClassVar[bool] = True
    selection: str
    request: PaymentRequest
    token: str | None = attrs.field(default=None, kw_only=True, repr=False)


def _fields(fields: Mapping[str, Any]) -> dict[str, Any]:
    return dict(fields)


@attrs.frozen
class PaymentResult(Call[Receipt | PaymentAction]):
    """Post the payment provider's answer (any JSON values, names unchanged) once per order.

    Answers the order's receipt, a ``FailedAction`` when declined, or (rarely) a new action.
    """

    kind: ClassVar[CallKind] = CallKind.PAYMENT_RESULT
    moves_money: ClassVar[bool] = True
    selection: str
    fields: dict[str, Any] = attrs.field(converter=_fields)
    token: str | None = attrs.field(default=None, kw_only=True, repr=False)


CALLS: tuple[type[Call[Any]], ...] = (
    CreateSelection,
    ReadSelection,
    AddItem,
    SetQuantity,
    RemoveLine,
    ApplyVoucher,
    RemoveVoucher,
    SetCountry,
    SetCheckoutFields,
    StartPayment,
    PaymentResult,
)
"""Every call, in the order of ``CallKind``."""

BY_KIND: Mapping[CallKind, type[Call[Any]]] = {call.kind: call for call in CALLS}
"""The call class of each kind."""
