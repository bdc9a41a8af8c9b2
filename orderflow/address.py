"""The shopper's address, as Centra sends and receives it."""

from __future__ import annotations

from typing import Any

import attrs


@attrs.frozen
class Address:
    """A billing or shipping address (``address`` / ``shippingAddress`` on the wire).

    Fields Centra sends that are not modelled here (``password``, ``loggedIn``, ...) are kept
    in ``extra`` and sent back unchanged.
    """

    email: str | None = None
    first_name: str | None = None
    last_name: str | None = None
    company: str | None = None
    address1: str | None = None
    address2: str | None = None
    zip_code: str | None = None
    city: str | None = None
    state: str | None = None
    country: str | None = None
    country_name: str | None = None
    phone_number: str | None = None
    vat_number: str | None = None
    extra: dict[str, Any] = attrs.field(factory=dict, eq=False, repr=False)
