"""The project's own GraphQL operation documents for Centra's Storefront API.

Each operation is sent alone, with the fragments it spreads (``DOCUMENTS[name]``) and its name
as ``operationName``. Every cart operation selects the whole ``Cart`` (lines, discounts,
totals, and the ``checkout`` fields the service needs: addresses, methods, totals); the
receipt is the ``Receipt`` of an ``Order``. Written from Centra's published schema; a test
validates each against the fake's schema (``tests/unit/test_storefront_client.py``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final

_MONEY = """
fragment Money on MonetaryValue {
  value
  formattedValue
  currency { code name prefix suffix decimalPoint decimalDigits }
}"""

_ADDRESS = """
fragment Address on Address {
  firstName lastName companyName address1 address2 zipCode city stateOrProvince
  state { code }
  country { code name isEU shipTo defaultLanguage { code } }
  email phoneNumber vatNumber
}"""

_LINE = """
fragment Line on Line {
  __typename id name productNumber productVariantName size quantity comment hasDiscount taxPercent
  unitPrice { ...Money }
  unitPriceExcludingTax: unitPrice(includingTax: false) { ...Money }
  unitOriginalPrice { ...Money }
  unitPriceReduction { ...Money }
  lineValue { ...Money }
  item { id sku GTIN name }
  displayItem { id name }
  brand { name }
}"""

_DISCOUNT = """
fragment Discount on Voucher {
  __typename name type method lineIds expiryDate
  value { ...Money }
  totalShippingReduction { ...Money }
  ... on CodeVoucher { code }
  ... on UrlVoucher { url }
  ... on AutoVoucher { id }
}"""

_TOTAL = """
fragment Total on SelectionTotalRow {
  __typename type
  price { ...Money }
  ... on SelectionTotalTaxRow { taxPercent }
}"""

_CART = """
fragment Cart on Selection {
  id
  language { code }
  lines { ...Line }
  discounts { ...Discount }
  grandTotal { ...Money }
  taxExempt
  checkout {
    hasSeparateBillingAddress
    shippingAddress { ...Address }
    separateBillingAddress { ...Address }
    paymentMethod { id uri }
    paymentMethods {
      id uri name kind initiateOnlySupported addressAfterPayment
      handlingCost { ...Money }
    }
    shippingMethod { id }
    shippingMethods { id name selected price { ...Money } }
    totals { ...Total }
  }
}"""

_RECEIPT = """
fragment Receipt on Order {
  id number status orderDate affiliateHtml paymentHtml otherComment comment
  lines { ...Line }
  discountsApplied { ...Discount }
  totals { ...Total }
  shippingMethod { id name price { ...Money } }
  paymentMethod { id uri name kind }
  billingAddress { ...Address }
  shippingAddress { ...Address }
  market { id }
  language { code }
}"""

_PROBLEM = """
fragment Problem on UserError {
  __typename message path
  ... on UnavailableItem {
    availableQuantity unavailableQuantity originalQuantity
    item { id }
    displayItem { id }
  }
}"""

_ACTION = """
fragment Action on PaymentAction {
  __typename action
  ... on FormPaymentAction { html formFields formType }
  ... on JavascriptPaymentAction { script formFields formType }
  ... on RedirectPaymentAction { url }
  ... on SuccessPaymentAction { formFields order { ...Receipt } }
}"""

_CART_PARTS = (_CART, _LINE, _DISCOUNT, _TOTAL, _ADDRESS, _MONEY)
_RECEIPT_PARTS = (_RECEIPT, _LINE, _DISCOUNT, _TOTAL, _ADDRESS, _MONEY)
_CHANGED = "selection { ...Cart } userErrors { ...Problem }"

_OPERATIONS: Final[dict[str, tuple[str, tuple[str, ...]]]] = {
    "Selection": ("query Selection { selection { ...Cart } }", _CART_PARTS),
    "ReadSelection": (
        "query ReadSelection { order { ...Receipt } selection { ...Cart } }",
        (_CART, _RECEIPT, _LINE, _DISCOUNT, _TOTAL, _ADDRESS, _MONEY),
    ),
    "SetCountry": (
        "mutation SetCountry($country: String!) {"
        f" setCountryState(countryCode: $country) {{ {_CHANGED} }} }}",
        (*_CART_PARTS, _PROBLEM),
    ),
    "AddItem": (
        "mutation AddItem($item: String!, $quantity: Int!) {"
        f" addItem(item: $item, quantity: $quantity) {{ {_CHANGED} }} }}",
        (*_CART_PARTS, _PROBLEM),
    ),
    "UpdateLine": (
        "mutation UpdateLine($line: String!, $quantity: Int!) {"
        f" updateLine(lineId: $line, quantity: $quantity) {{ {_CHANGED} }} }}",
        (*_CART_PARTS, _PROBLEM),
    ),
    "DeleteLine": (
        f"mutation DeleteLine($line: String!) {{ deleteLine(lineId: $line) {{ {_CHANGED} }} }}",
        (*_CART_PARTS, _PROBLEM),
    ),
    "AddVoucher": (
        f"mutation AddVoucher($code: String!) {{ addVoucher(code: $code) {{ {_CHANGED} }} }}",
        (*_CART_PARTS, _PROBLEM),
    ),
    "RemoveVoucher": (
        f"mutation RemoveVoucher($code: String!) {{ removeVoucher(code: $code) {{ {_CHANGED} }} }}",
        (*_CART_PARTS, _PROBLEM),
    ),
    "SetAddress": (
        "mutation SetAddress($shipping: AddressInput!, $billing: AddressInput,"
        " $abandonment: Boolean = true) { setAddress(shippingAddress: $shipping,"
        " separateBillingAddress: $billing, sendCartAbandonmentEmail: $abandonment)"
        f" {{ {_CHANGED} }} }}",
        (*_CART_PARTS, _PROBLEM),
    ),
    "SetPaymentMethod": (
        f"mutation SetPaymentMethod($id: Int!) {{ setPaymentMethod(id: $id) {{ {_CHANGED} }} }}",
        (*_CART_PARTS, _PROBLEM),
    ),
    "SetShippingMethod": (
        f"mutation SetShippingMethod($id: Int!) {{ setShippingMethod(id: $id) {{ {_CHANGED} }} }}",
        (*_CART_PARTS, _PROBLEM),
    ),
    "PaymentInstructions": (
        "mutation PaymentInstructions($input: PaymentInstructionsInput!) {"
        " paymentInstructions(input: $input) { action { ...Action } selection { ...Cart }"
        " userErrors { ...Problem } } }",
        (_ACTION, _RECEIPT, *_CART_PARTS, _PROBLEM),
    ),
    "PaymentResult": (
        "mutation PaymentResult($fields: Map!) { paymentResult(paymentMethodFields: $fields) {"
        " __typename type userErrors { ...Problem }"
        " ... on PaymentResultSuccessPayload { order { ...Receipt } }"
        " ... on PaymentResultFailedPayload { selection { ...Cart } } } }",
        (_CART, _RECEIPT, _LINE, _DISCOUNT, _TOTAL, _ADDRESS, _MONEY, _PROBLEM),
    ),
}


def _document(operation: str, parts: tuple[str, ...]) -> str:
    return operation + "".join(dict.fromkeys(parts))  # each fragment once


DOCUMENTS: Final[Mapping[str, str]] = {
    name: _document(operation, parts) for name, (operation, parts) in _OPERATIONS.items()
}
"""Each operation's document, by its name (the ``operationName`` sent)."""

ROOT_FIELDS: Final[Mapping[str, str]] = {
    "Selection": "selection",
    "SetCountry": "setCountryState",
    "AddItem": "addItem",
    "UpdateLine": "updateLine",
    "DeleteLine": "deleteLine",
    "AddVoucher": "addVoucher",
    "RemoveVoucher": "removeVoucher",
    "SetAddress": "setAddress",
    "SetPaymentMethod": "setPaymentMethod",
    "SetShippingMethod": "setShippingMethod",
    "PaymentInstructions": "paymentInstructions",
    "PaymentResult": "paymentResult",
}
"""The root field whose value each operation's answer is (``ReadSelection`` has two)."""
