"""Money as Centra sends it: an exact amount, its currency, and the display string."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal
from typing import Any

import attrs

_NBSP = "\u00a0"


@attrs.frozen
class Money:
    """An amount of money: computed from Centra's ``...AsNumber`` fields, never from display text.

    ``display`` keeps Centra's own formatting (``"3\\u00a0600.00\\u00a0SEK"``) exactly as it came.
    """

    amount: Decimal
    currency: str
    display: str | None = attrs.field(default=None, eq=False)

    def __add__(self, other: Money) -> Money:
        _same_currency(self, other)
        return Money(self.amount + other.amount, self.currency)

    def __sub__(self, other: Money) -> Money:
        _same_currency(self, other)
        return Money(self.amount - other.amount, self.currency)

    def times(self, quantity: int) -> Money:
        """This amount multiplied by a quantity, without a display string."""
        return Money(self.amount * quantity, self.currency)


def _same_currency(a: Money, b: Money) -> None:
    if a.currency != b.currency:
        raise ValueError(f"cannot combine {a.currency} with {b.currency}")


@attrs.frozen
class CurrencyFormat:
    """How a currency is displayed (``currencyFormat`` on the wire); formats like Centra does."""

    currency: str
    name: str = ""
    prefix: str = ""
    suffix: str = ""
    decimal_point: str = "."
    decimal_digits: int = 2
    uri: str = ""
    extra: dict[str, Any] = attrs.field(factory=dict, eq=False, repr=False)

    def format(self, amount: Decimal) -> str:
        """Centra's display string: thousands and affixes separated by no-break spaces.

        >>> CurrencyFormat("SEK", suffix=" SEK").format(Decimal(3600))
        '3\\xa0600.00\\xa0SEK'
        """
        quantum = Decimal(1).scaleb(-self.decimal_digits)
        rounded = amount.quantize(quantum, rounding=ROUND_HALF_UP)
        sign = "-" if rounded < 0 else ""
        whole, _, fraction = f"{abs(rounded):f}".partition(".")
        groups: list[str] = []
        while len(whole) > 3:
            groups.insert(0, whole[-3:])
            whole = whole[:-3]
        groups.insert(0, whole)
        number = _NBSP.join(groups)
        if self.decimal_digits:
            number = f"{number}{self.decimal_point}{fraction}"
        text = f"{sign}{self.prefix}{number}{self.suffix}"
        return text.replace(" ", _NBSP)

    def money(self, amount: Decimal | int) -> Money:
        """A ``Money`` in this currency with Centra's display string."""
        value = Decimal(amount)
        return Money(value, self.currency, self.format(value))
