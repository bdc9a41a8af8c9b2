"""orderflow: the checkout brain of storefront services on Centra.

The pure core: the flow table (``flow``), the types Centra speaks, one codec, the ports and
the service. It imports no I/O library; adapters (HTTP, the fake, replay, stores) live in the
``orderflow.adapters`` package, which importing ``orderflow`` does not load.
"""

__version__ = "0.2.0"

from orderflow.address import Address
from orderflow.checkout import Checkout
from orderflow.clock import ManualClock, SystemClock
from orderflow.commands import ServiceSettings
from orderflow.errors import (
    AuthenticationFailed,
    CentraError,
    CentraUnavailable,
    CheckoutNotFound,
    ClaimTimeout,
    ConcurrencyConflict,
    EventNotAllowed,
    FieldProblem,
    GuardRefused,
    IdempotencyKeyReused,
    OrderflowError,
    OutcomeUnknown,
    OutOfStock,
    PayloadError,
    Refusal,
    StoreError,
)
from orderflow.flow import FLOW, Event, Rule, State, TransitionRecord
from orderflow.money import CurrencyFormat, Money
from orderflow.payment import (
    FailedAction,
    FormAction,
    JavascriptAction,
    PaymentAction,
    PaymentRequest,
    RedirectAction,
    SuccessAction,
)
from orderflow.ports import AsyncTransport, Claim, Clock, IdempotencyRecord, Store, Transport
from orderflow.receipt import Discounts, Item, Line, Receipt, Totals, Voucher
from orderflow.selection import (
    Location,
    PaymentMethod,
    Selection,
    SelectionResponse,
    ShippingMethod,
    UnavailableItem,
)
from orderflow.service import AsyncCheckoutService, CheckoutService

__all__ = [
    "FLOW",
    "Address",
    "AsyncCheckoutService",
    "AsyncTransport",
    "AuthenticationFailed",
    "CentraError",
    "CentraUnavailable",
    "Checkout",
    "CheckoutNotFound",
    "CheckoutService",
    "Claim",
    "ClaimTimeout",
    "Clock",
    "ConcurrencyConflict",
    "CurrencyFormat",
    "Discounts",
    "Event",
    "EventNotAllowed",
    "FailedAction",
    "FieldProblem",
    "FormAction",
    "GuardRefused",
    "IdempotencyKeyReused",
    "IdempotencyRecord",
    "Item",
    "JavascriptAction",
    "Line",
    "Location",
    "ManualClock",
    "Money",
    "OrderflowError",
    "OutOfStock",
    "OutcomeUnknown",
    "PayloadError",
    "PaymentAction",
    "PaymentMethod",
    "PaymentRequest",
    "Receipt",
    "RedirectAction",
    "Refusal",
    "Rule",
    "Selection",
    "SelectionResponse",
    "ServiceSettings",
    "ShippingMethod",
    "State",
    "Store",
    "StoreError",
    "SuccessAction",
    "SystemClock",
    "Totals",
    "TransitionRecord",
    "Transport",
    "UnavailableItem",
    "Voucher",
]
