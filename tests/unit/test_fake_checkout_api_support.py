"""What the fake's Checkout API tests share (no tests here): a session that talks to a
``FakeCentra``'s Checkout API as a storefront does, the documented payloads, and a comparison
of an answer's shape with a documented one.

The documented payloads are Centra's own (``tests/data/checkout-api``, ``INDEX.md`` names each
page), so the fake is held to Centra's documentation, not to our client.
"""

from __future__ import annotations

import fnmatch
import json
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from orderflow.adapters.fake.answer import Answer
from orderflow.adapters.fake.centra import FakeCentra

DATA = Path(__file__).resolve().parents[1] / "data"

RETURN_PAGE = "https://shop.example.test/payment-return"
FAILED_PAGE = "https://shop.example.test/payment-failed"
ADDRESS = {
    "email": "shopper@example.com",
    "firstName": "Test",
    "lastName": "Testson",
    "address1": "Gatan 1",
    "zipCode": "11122",
    "city": "Stockholm",
    "country": "SE",
    "phoneNumber": "0701234567",
}
PAYMENT = {
    "paymentReturnPage": RETURN_PAGE,
    "paymentFailedPage": FAILED_PAGE,
    "termsAndConditions": True,
    "address": ADDRESS,
}

LOCALIZED = ("$.language", "$.languages")
"""The fake answers the Localization form (``language`` an object, ``languages`` a list) where
the order-flow page's examples show ``language`` as a list."""
METHOD_KEYS = (
    "$.paymentMethods[].paymentMethodType",
    "$.paymentMethods[].supportsInitiateOnly",
    "$.paymentMethods[].providesCustomerAddressAfterPayment",
)
"""Keys of a payment method that other pages document (the order flow's example has none)."""
LINE_PRODUCT = (
    "*.items[].product.presets",
    "*.items[].product.tableMappings",
    "*.items[].product.sh_*",
    "*.items[].product.swatch",
    "*.items[].product.media",
)
"""What the order flow's nested product has that the fake's catalog has not (custom attributes,
prepacks, size comments), and what it has that that example has not (a swatch; media as an
object, where the example's product has none and shows ``[]``)."""


def doc(name: str) -> Any:
    """A documented payload: ``tests/data/checkout-api/<name>`` or ``<folder>/<name>``."""
    folder, _, file = name.rpartition("/")
    return json.loads((DATA / (folder or "checkout-api") / file).read_text(encoding="utf-8"))


KEYED = ("*.categories", "*.media", "*.prices")
"""Objects keyed by ids or sizes (a product's categories, its media, its prices by price list):
each of their values has the shape of the documented ones."""


def shape_problems(
    ours: Any,
    documented: Any,
    *,
    ignore: Iterable[str] = (),
    keyed: Iterable[str] = KEYED,
    path: str = "$",
) -> list[str]:
    """Where ``ours`` differs in shape from ``documented``: a key missing or extra, a value of
    another JSON type. A documented ``null`` or ``"..."`` stands for any value, an object with
    a ``"..."`` key for any further keys; lists compare their first elements, objects at a
    ``keyed`` path each value with the first documented one. ``ignore`` holds ``fnmatch``
    patterns of paths (``$.selection.items[].product.media``) that may differ."""
    ignored, maps = tuple(ignore), tuple(keyed)

    def skip(at: str) -> bool:
        return any(fnmatch.fnmatchcase(at, _glob(pattern)) for pattern in ignored)

    def deeper(mine: Any, theirs: Any, at: str) -> list[str]:
        return shape_problems(mine, theirs, ignore=ignored, keyed=maps, path=at)

    if documented is None or documented == "..." or skip(path):
        return []
    if isinstance(documented, Mapping):
        if not isinstance(ours, Mapping):
            return [f"{path}: {_kind(ours)}, documented an object"]
        if any(fnmatch.fnmatchcase(path, _glob(pattern)) for pattern in maps):
            shown = [v for k, v in documented.items() if k != "..."]
            return [p for v in ours.values() for p in deeper(v, shown[0], f"{path}.*")][:1]
        keys = {k for k in documented if k != "..."}
        found = [f"{path}.{k}: missing" for k in sorted(keys - ours.keys())]
        if "..." not in documented:
            found += [f"{path}.{k}: not documented" for k in sorted(set(ours) - keys)]
        found = [problem for problem in found if not skip(problem.partition(":")[0])]
        for key in sorted(keys & ours.keys()):
            found += deeper(ours[key], documented[key], f"{path}.{key}")
        return found
    if isinstance(documented, list):
        if not isinstance(ours, list):
            return [f"{path}: {_kind(ours)}, documented a list"]
        shown = [entry for entry in documented if entry != "..."]
        if not shown or not ours:
            return []
        return deeper(ours[0], shown[0], f"{path}[]")
    if _kind(ours) != _kind(documented):
        return [f"{path}: {_kind(ours)}, documented {_kind(documented)}"]
    return []


def _glob(pattern: str) -> str:
    return pattern.replace("[", "[[]")  # "[]" marks a list's elements, not a set of characters


def _kind(value: Any) -> str:
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "text"
    if value is None:
        return "null"
    return "object" if isinstance(value, Mapping) else "list"


class Shopper:
    """A storefront's session on the fake's Checkout API: sends its token as ``API-token``
    and keeps the newest one each answer carries (``token``; ``tokens`` every one seen)."""

    def __init__(self, fake: FakeCentra, token: str | None = None, **headers: str):
        self.fake = fake
        self.token = token
        self.tokens: list[str] = []
        self.headers = headers

    def __call__(self, method: str, path: str, body: Any = None, **headers: str) -> Answer:
        sent = {**self.headers, **headers}
        if self.token is not None:
            sent.setdefault("API-token", self.token)
        answer = self.fake.serve_checkout_api(method, path, body, sent)
        token = answer.body.get("token") if isinstance(answer.body, Mapping) else None
        if isinstance(token, str):
            self.token = token
            self.tokens.append(token)
        return answer

    @property
    def selection(self) -> str | None:
        """The fake's selection the session stands for (the Shop API's view of it)."""
        return self.fake.sessions.selection_of(self.token)

    def cart(self, item: str = "23-281", quantity: int = 1) -> dict[str, Any]:
        """Add ``quantity`` of ``item``; the selection answer."""
        answer = self("POST", f"/items/{item}/quantity/{quantity}")
        assert answer.status == 200, answer
        return dict(answer.body)

    def pay(self, method: str = "klarna-playground", **fields: Any) -> Answer:
        """Choose ``method`` and start the payment with the shopper's details."""
        chosen = self("PUT", f"/payment-methods/{method}")
        assert chosen.status == 200, chosen
        return self("POST", "/payment", {**PAYMENT, **fields})

    def paid(self, item: str = "23-281", quantity: int = 1) -> dict[str, Any]:
        """The whole purchase with Klarna Checkout: the payment result's answer."""
        self.cart(item, quantity)
        form = self.pay()
        assert form.body["action"] == "form", form
        fields = {"centraPaymentMethod": "klarna-playground", "klarna_order": "K-1"}
        answer = self("POST", "/payment-result", {"paymentMethodFields": fields})
        assert answer.status == 200, answer
        return dict(answer.body)
