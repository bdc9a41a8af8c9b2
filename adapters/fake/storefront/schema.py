"""The fake's Storefront API schema: Centra's published SDL for the parts the fake implements
(``schema.graphql`` beside this module), built with graphql-core, its root fields bound to
``resolvers`` and ``paying``.

Built once per process (``storefront_schema``): the schema holds no state, every resolver gets
its request's ``context.Context``. The custom scalar ``Map`` is a JSON object in and out (a
variable or literal that is not an object is refused at validation).
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping
from importlib import resources
from typing import Any

from graphql import (
    GraphQLScalarType,
    GraphQLSchema,
    ObjectValueNode,
    ValueNode,
    assert_valid_schema,
    build_schema,
    value_from_ast_untyped,
)

from orderflow.adapters.fake.storefront import paying, resolvers

__all__ = ["QUERY", "SDL_FILE", "sdl", "storefront_schema"]

SDL_FILE = "schema.graphql"

QUERY: Mapping[str, Callable[..., Any]] = {
    "countries": resolvers.countries,
    "displayItem": resolvers.display_item,
    "displayItems": resolvers.display_items,
    "languages": resolvers.languages,
    "markets": resolvers.markets,
    "order": resolvers.order,
    "selection": resolvers.selection,
    "session": resolvers.session,
}
"""Each root query field and its resolver."""

MUTATION: Mapping[str, Callable[..., Any]] = {
    "addItem": resolvers.add_item,
    "addVoucher": resolvers.add_voucher,
    "deleteLine": resolvers.delete_line,
    "paymentInstructions": paying.payment_instructions,
    "paymentResult": paying.payment_result,
    "removeVoucher": resolvers.remove_voucher,
    "setAddress": resolvers.set_address,
    "setCountryState": resolvers.set_country_state,
    "setLanguage": resolvers.set_language,
    "setPaymentMethod": resolvers.set_payment_method,
    "setShippingMethod": resolvers.set_shipping_method,
    "updateLine": resolvers.update_line,
}
"""Each root mutation field and its resolver."""


def sdl() -> str:
    """The schema's SDL, as shipped."""
    return resources.files(__package__).joinpath(SDL_FILE).read_text(encoding="utf-8")


def _map_in(value: Any) -> dict[str, Any]:
    if not isinstance(value, Mapping):
        raise TypeError("a Map is a JSON object")
    return dict(value)


def _map_literal(node: ValueNode, variables: dict[str, Any] | None = None) -> dict[str, Any]:
    if not isinstance(node, ObjectValueNode):
        raise TypeError("a Map is a JSON object")
    return _map_in(value_from_ast_untyped(node, variables))


def _map_out(value: Any) -> Any:
    return dict(value) if isinstance(value, Mapping) else value


@functools.cache
def storefront_schema() -> GraphQLSchema:
    """The schema, resolvers bound. Raises ``TypeError`` if the SDL and the resolvers disagree."""
    schema = build_schema(sdl())
    scalar = schema.type_map["Map"]
    assert isinstance(scalar, GraphQLScalarType)
    # graphql-core 3.3 keeps copies as ``coerce_*`` (3.2 has none): set both where there.
    for names, value in (
        (("serialize", "coerce_output_value"), _map_out),
        (("parse_value", "coerce_input_value"), _map_in),
        (("parse_literal",), _map_literal),
    ):
        for name in names:
            if name == "parse_literal" or hasattr(scalar, name):
                setattr(scalar, name, value)
    for root, bound in ((schema.query_type, QUERY), (schema.mutation_type, MUTATION)):
        assert root is not None
        if set(root.fields) != set(bound):
            raise TypeError(f"{root.name} fields {sorted(root.fields)} != {sorted(bound)}")
        for name, resolve in bound.items():
            root.fields[name].resolve = resolve
    assert_valid_schema(schema)
    return schema
