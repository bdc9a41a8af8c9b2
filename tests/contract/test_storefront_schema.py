"""The fake's Storefront API against Centra's published schema.

``tests/data/storefront/schema-facts.json`` is Centra's published schema for the checkout's
parts, written out as data. The fake's schema, as its introspection answers it over HTTP (its
ASGI app, ``httpx.ASGITransport``), must agree with it for every type and field the fake
implements: names, kinds, argument names, types, nullability and defaults, enum values, input
fields, interfaces. And every storefront document in ``tests/data/storefront/operations``
(written from the published schema) runs against the fake, alone and several to a request,
with no errors and data of the published schema's types.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import httpx
import pytest
from graphql import (
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLEnumType,
    GraphQLInterfaceType,
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLScalarType,
    GraphQLSchema,
    OperationDefinitionNode,
    SelectionSetNode,
    build_schema,
    get_introspection_query,
    parse,
    parse_value,
    validate,
    value_from_ast_untyped,
)

from orderflow.adapters.fake.centra import FakeCentra
from orderflow.adapters.fake.seed import SEED_ITEM, SEED_PAYMENT_FIELDS
from orderflow.adapters.fake.storefront import graphql_app

DATA = Path(__file__).resolve().parents[1] / "data" / "storefront"
FACTS = json.loads((DATA / "schema-facts.json").read_text(encoding="utf-8"))
URL = "http://storefront.test/graphql"
ADDRESS = {
    "firstName": "Maximillian",
    "lastName": "George",
    "email": "hhh@example.com",
    "address1": "Dybecksvägen 51",
    "zipCode": "16855",
    "city": "Stockholm",
    "country": "SE",
    "phoneNumber": "734444782",
}
IMPLEMENTED = {
    "Query": {"session", "selection", "order", "displayItems", "displayItem", "countries"}
    | {"languages", "markets"},
    "Mutation": {"addItem", "updateLine", "deleteLine", "addVoucher", "removeVoucher"}
    | {"setAddress", "setShippingMethod", "setPaymentMethod", "setCountryState"}
    | {"paymentInstructions", "paymentResult", "setLanguage"},
    "PaymentAction": {"action"},
    "FormPaymentAction": {"action", "html", "formFields", "formType"},
    "JavascriptPaymentAction": {"action", "script", "formFields", "formType"},
    "RedirectPaymentAction": {"action", "url"},
    "SuccessPaymentAction": {"action", "formFields", "order"},
    "PaymentResultSuccessPayload": {"order", "selection", "type", "userErrors"},
    "PaymentResultFailedPayload": {"selection", "type", "userErrors"},
    "MonetaryValue": {"value", "formattedValue", "currency"},
    "UserError": {"message", "path"},
}
"""What the fake must implement at least (the checkout's parts)."""


def _published() -> GraphQLSchema:
    """Centra's published schema for the closure, rebuilt from the facts (no descriptions)."""

    def fields(spec: Mapping[str, Any]) -> str:
        lines = []
        for name, field in spec.items():
            defaults = field.get("argDefaults", {})
            args = ", ".join(
                f"{a}: {t}" + (f" = {defaults[a]}" if a in defaults else "")
                for a, t in field.get("args", {}).items()
            )
            lines.append(f"  {name}{f'({args})' if args else ''}: {field['type']}")
        return "\n".join(lines)

    parts = [f"scalar {name}" for name in FACTS["customScalars"]]
    parts += [f"type Query {{\n{fields(FACTS['query'])}\n}}"]
    parts += [f"type Mutation {{\n{fields(FACTS['mutation'])}\n}}"]
    for name, t in FACTS["types"].items():
        kind = t["kind"]
        if kind == "ENUM":
            parts.append(f"enum {name} {{ {' '.join(t['enumValues'])} }}")
        elif kind == "INPUT_OBJECT":
            inputs = "\n".join(
                f"  {f}: {spec['type']}" + (f" = {spec['default']}" if "default" in spec else "")
                for f, spec in t["fields"].items()
            )
            parts.append(f"input {name} {{\n{inputs}\n}}")
        elif kind in ("OBJECT", "INTERFACE"):
            word = "type" if kind == "OBJECT" else "interface"
            faces = f" implements {' & '.join(t['interfaces'])}" if t.get("interfaces") else ""
            parts.append(f"{word} {name}{faces} {{\n{fields(t['fields'])}\n}}")
    return build_schema("\n\n".join(parts))


PUBLISHED = _published()


class Storefront:
    """The fake's ASGI app over ``httpx.ASGITransport``, carrying the session's token."""

    def __init__(self, client: httpx.AsyncClient):
        self.client = client
        self.token = "shared-session-token"

    async def ask(
        self, query: str, variables: Any = None, operation: str | None = None
    ) -> dict[str, Any]:
        body = {"query": query, "variables": variables, "operationName": operation}
        headers = {"Authorization": f"Bearer {self.token}"}
        answer = await self.client.post(URL, json=body, headers=headers)
        assert answer.status_code == 200, answer.text
        data: dict[str, Any] = answer.json()
        self.token = data["extensions"]["token"]
        return data


@pytest.fixture
async def storefront() -> Any:
    transport = httpx.ASGITransport(app=graphql_app(FakeCentra.seeded()))
    async with httpx.AsyncClient(transport=transport) as client:
        yield Storefront(client)


# --- the fake's schema is the published one, where it has it ------------------------------------


def _type_ref(ref: Mapping[str, Any]) -> str:
    if ref["kind"] == "NON_NULL":
        return _type_ref(ref["ofType"]) + "!"
    if ref["kind"] == "LIST":
        return f"[{_type_ref(ref['ofType'])}]"
    return str(ref["name"])


async def _introspected(storefront: Storefront) -> dict[str, dict[str, Any]]:
    answer = await storefront.ask(get_introspection_query(descriptions=False))
    assert "errors" not in answer
    types = answer["data"]["__schema"]["types"]
    return {t["name"]: t for t in types if not t["name"].startswith("__")}


def _literal(text: str | None) -> Any:
    """A default value as a GraphQL literal's value (printed layouts differ); absent: ``...``."""
    return ... if text is None else value_from_ast_untyped(parse_value(text))


def _published_fields(name: str) -> Mapping[str, Any]:
    root = name in ("Query", "Mutation")
    found: Mapping[str, Any] = FACTS[name.lower()] if root else FACTS["types"][name]["fields"]
    return found


async def test_every_type_and_field_the_fake_has_is_the_published_one(
    storefront: Storefront,
) -> None:
    fake = await _introspected(storefront)
    builtin = set(FACTS["builtinScalars"])
    for name, t in fake.items():
        if name in builtin:
            continue
        if name in ("Query", "Mutation"):
            assert t["kind"] == "OBJECT"
        elif t["kind"] == "SCALAR":
            assert name in FACTS["customScalars"], name
            continue
        else:
            assert name in FACTS["types"], f"{name} is not a published type"
            published = FACTS["types"][name]
            assert t["kind"] == published["kind"], name
        if t["kind"] == "ENUM":
            assert [v["name"] for v in t["enumValues"]] == published["enumValues"], name
        elif t["kind"] == "INPUT_OBJECT":
            fields = {f["name"]: f for f in t["inputFields"]}
            assert set(fields) == set(published["fields"]), name
            for f, spec in published["fields"].items():
                assert _type_ref(fields[f]["type"]) == spec["type"], f"{name}.{f}"
                default = _literal(spec.get("default"))
                assert _literal(fields[f]["defaultValue"]) == default, f"{name}.{f}"
        else:
            _same_fields(name, t)


def _same_fields(name: str, t: Mapping[str, Any]) -> None:
    published = _published_fields(name)
    if name not in ("Query", "Mutation"):
        facts = FACTS["types"][name]
        assert sorted(i["name"] for i in t["interfaces"] or []) == sorted(facts["interfaces"])
        if t["kind"] == "INTERFACE":
            assert {p["name"] for p in t["possibleTypes"]} <= set(facts["possibleTypes"]), name
    for field in t["fields"]:
        where = f"{name}.{field['name']}"
        assert field["name"] in published, f"{where} is not published"
        spec = published[field["name"]]
        assert _type_ref(field["type"]) == spec["type"], where
        args = {a["name"]: a for a in field["args"]}
        assert set(args) == set(spec.get("args", {})), where
        for arg, type_ in spec.get("args", {}).items():
            assert _type_ref(args[arg]["type"]) == type_, f"{where}({arg})"
            default = spec.get("argDefaults", {}).get(arg)
            assert _literal(args[arg]["defaultValue"]) == _literal(default), f"{where}({arg})"


async def test_the_fake_implements_the_checkouts_parts(storefront: Storefront) -> None:
    fake = await _introspected(storefront)
    for name, fields in IMPLEMENTED.items():
        assert fields <= {f["name"] for f in fake[name]["fields"]}, name
    actions = {p["name"] for p in fake["PaymentAction"]["possibleTypes"]}
    assert actions == {n for n in IMPLEMENTED if n.endswith("PaymentAction")} - {"PaymentAction"}


# --- the storefront's own documents run against the fake --------------------------------------


def _document(name: str) -> str:
    return (DATA / "operations" / name).read_text(encoding="utf-8")


def test_every_document_is_written_from_the_published_schema() -> None:
    for path in sorted((DATA / "operations").glob("*.graphql")):
        assert validate(PUBLISHED, parse(path.read_text(encoding="utf-8"))) == [], path.name


FLOW: list[tuple[str, dict[str, Any], str | None]] = [
    ("session.graphql", {}, None),
    ("cart.graphql", {}, None),
    ("product.graphql", {"id": 23}, None),
    ("add-item.graphql", {"item": SEED_ITEM, "quantity": 2}, None),
    ("update-line.graphql", {"lineId": "<line>", "quantity": 1}, None),
    ("vouchers.graphql", {"code": "WELCOME10"}, "AddVoucher"),
    ("vouchers.graphql", {"code": "WELCOME10"}, "RemoveVoucher"),
    ("locale.graphql", {"onlyShipTo": True}, "Locales"),
    ("locale.graphql", {"country": "SE", "language": "sv"}, "ChangeLocale"),
    ("set-address.graphql", {"shipping": ADDRESS}, None),
    ("set-shipping-method.graphql", {"id": 4}, None),
    ("set-payment-method.graphql", {"id": 1}, None),
    ("checkout.graphql", {"voucherMode": "TOTAL"}, None),
    ("payment-instructions.graphql", {"input": "<input>"}, None),
    ("payment-result.graphql", {"fields": {"centraPaymentMethod": "klarna-playground"}}, None),
    ("payment-result.graphql", {"fields": SEED_PAYMENT_FIELDS}, None),
    ("order.graphql", {"dateFormat": "Y-m-d"}, None),
    ("delete-line.graphql", {"lineId": "<line>"}, None),
]
"""A storefront's session, from an empty cart to the receipt, one document at a time."""
_INPUT = {
    "paymentReturnPage": "https://shop.test/ok",
    "paymentFailedPage": "https://shop.test/failed",
    "termsAndConditions": True,
    "shippingAddress": ADDRESS,
}


async def test_every_document_runs_against_the_fake_with_data_of_the_published_types(
    storefront: Storefront,
) -> None:
    line = ""
    ran = set()
    for name, variables, operation in FLOW:
        filled = {
            k: line if v == "<line>" else _INPUT if v == "<input>" else v
            for k, v in variables.items()
        }
        answer = await storefront.ask(_document(name), filled, operation)
        assert "errors" not in answer, (name, answer["errors"])
        _typed(_document(name), answer["data"], filled, operation)
        if name == "add-item.graphql":
            line = answer["data"]["addItem"]["added"]["id"]
        ran.add(name)
    assert ran == {p.name for p in (DATA / "operations").glob("*.graphql")}


async def test_several_operations_run_in_one_request_by_operation_name(
    storefront: Storefront,
) -> None:
    query = _document("locale.graphql") + _document("session.graphql")
    for operation, variables in (("Locales", {}), ("Session", {}), ("ChangeLocale", _CHANGE)):
        answer = await storefront.ask(query, variables, operation)
        assert "errors" not in answer, answer
        _typed(query, answer["data"], variables, operation)
    unnamed = await storefront.ask(query, {})
    assert unnamed["data"] is None and unnamed["errors"]


_CHANGE = {"country": "DE", "language": "de"}


# --- checking an answer against the published schema -------------------------------------------


def _typed(query: str, data: Any, variables: Mapping[str, Any], operation: str | None) -> None:
    """Fail unless ``data`` is the published schema's answer to ``query``'s operation."""
    document = parse(query)
    fragments = {
        d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)
    }
    ops = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
    op = next(o for o in ops if operation is None or (o.name and o.name.value == operation))
    root = PUBLISHED.query_type if op.operation.value == "query" else PUBLISHED.mutation_type
    assert root is not None
    _check(root, op.selection_set, data, "data", fragments)


def _fields(
    selections: SelectionSetNode, concrete: str | None, fragments: Mapping[str, Any]
) -> Iterator[tuple[FieldNode, bool]]:
    """The fields selected on an object of type ``concrete`` (unknown: ``None``), each with
    whether it must be there."""
    for node in selections.selections:
        if isinstance(node, FieldNode):
            yield node, not node.directives
            continue
        part: Any = fragments[node.name.value] if isinstance(node, FragmentSpreadNode) else node
        condition = part.type_condition.name.value if part.type_condition else None
        applies = _applies(condition, concrete)
        if applies is not False:
            for field, needed in _fields(part.selection_set, concrete, fragments):
                yield field, needed and applies is True


def _applies(condition: str | None, concrete: str | None) -> bool | None:
    if condition is None or condition == concrete:
        return True
    if concrete is None:
        return None
    named = PUBLISHED.get_type(condition)
    target = PUBLISHED.get_type(concrete)
    if isinstance(named, GraphQLInterfaceType) and isinstance(target, GraphQLObjectType):
        return named in target.interfaces
    return False


def _check(
    type_: Any, selections: Any, value: Any, path: str, fragments: Mapping[str, Any]
) -> None:
    if isinstance(type_, GraphQLNonNull):
        assert value is not None, f"{path} is null but {type_} is not"
        type_ = type_.of_type
    if value is None:
        return
    if isinstance(type_, GraphQLList):
        assert isinstance(value, list), path
        for index, item in enumerate(value):
            _check(type_.of_type, selections, item, f"{path}[{index}]", fragments)
        return
    if isinstance(type_, GraphQLEnumType):
        assert value in type_.values, f"{path}: {value!r} is no {type_.name}"
        return
    if isinstance(type_, GraphQLScalarType):
        kinds: dict[str, type | tuple[type, ...]] = {
            "Int": int,
            "Float": (int, float),
            "String": str,
            "Boolean": bool,
            "Map": dict,
        }
        expected = kinds.get(type_.name, object)
        assert isinstance(value, expected) and (type_.name != "Int" or type(value) is int), path
        return
    assert isinstance(value, dict), path
    concrete = type_.name if isinstance(type_, GraphQLObjectType) else value.get("__typename")
    if concrete is not None:
        found = PUBLISHED.get_type(concrete)
        assert isinstance(found, GraphQLObjectType), f"{path}: {concrete} is no object type"
        assert type_ is found or type_ in found.interfaces, f"{path}: {concrete} is no {type_}"
        type_ = found
    for node, needed in _fields(selections, concrete, fragments):
        key = node.alias.value if node.alias else node.name.value
        if key not in value:
            assert not needed, f"{path}.{key} is missing"
            continue
        if node.name.value == "__typename":
            assert value[key] == concrete, path
            continue
        field = type_.fields[node.name.value]
        _check(field.type, node.selection_set, value[key], f"{path}.{key}", fragments)
