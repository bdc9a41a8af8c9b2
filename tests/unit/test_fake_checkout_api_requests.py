"""No request to the fake's Checkout API breaks it: any JSON body, any path parameter, to every
endpoint, is an answer with a token (a 4xx in Centra's error shape), never an exception.
"""

from __future__ import annotations

from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from orderflow.adapters.fake.centra import FakeCentra
from orderflow.adapters.fake.checkout_api import ROUTES, Route
from tests.unit.test_fake_checkout_api_support import PAYMENT, Shopper

JSON = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner),
    max_leaves=12,
)
FIELDS = sorted(
    {
        *PAYMENT,
        "voucher",
        "quantity",
        "language",
        "country",
        "market",
        "pricelist",
        "paymentMethodFields",
        "search",
        "categories",
        "limit",
        "skipFirst",
        "sortOrder",
        "uri",
        "for",
        "relatedProducts",
        "onlyAvailable",
        "swatch.desc",
        "email",
        "email_field",
        "item",
        "product",
    }
)
BODIES = st.none() | st.dictionaries(
    st.sampled_from(FIELDS) | st.text(max_size=8), JSON, max_size=4
)
SEGMENTS = st.sampled_from(
    ["23-281", "WELCOME10", "SE", "us", "ca", "sv", "23", "0", "-1", "%2E%2E"]
)
SEGMENTS |= st.text("abcXYZ019-_.~%", min_size=1, max_size=12)


@settings(max_examples=400, deadline=None, database=None)
@given(
    route=st.sampled_from(ROUTES),
    body=BODIES,
    segment=SEGMENTS,
    server_side=st.booleans(),
    started=st.booleans(),
)
def test_no_request_to_any_endpoint_raises_or_answers_a_5xx(
    route: Route, body: Any, segment: str, server_side: bool, started: bool
) -> None:
    fake = FakeCentra.seeded()
    headers = {"Authorization": "Bearer s"} if server_side else {}
    shopper = Shopper(fake, **headers)
    if started:
        line = shopper.cart()["selection"]["items"][0]["line"]
        shopper.pay()
        segment = line if "{line}" in route.template else segment
    path = route.template.format_map(_Every(segment))
    answer = shopper(route.method, path, body)
    assert answer.status < 500, answer
    assert isinstance(answer.body["token"], str)
    if answer.status >= 400:
        assert answer.body["errors"], answer


class _Every(dict[str, str]):
    def __init__(self, segment: str):
        super().__init__()
        self.segment = segment

    def __missing__(self, key: str) -> str:
        return self.segment
