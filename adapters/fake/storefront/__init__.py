"""``FakeCentra`` speaking Centra's Storefront API (GraphQL), on graphql-core.

The schema is Centra's published one for the parts the fake implements (``schema.graphql``,
``schema``); its resolvers act on the fake's one shared state through the front door every
dialect of the fake shares (``resolvers``, ``paying``, ``context``), so a selection made over
GraphQL is a selection of the fake (``FakeCentra.orders``, ``calls`` counted by ``CallKind``,
``stock``, its faults). Shoppers' sessions are bearer tokens (``session``); the fake's answers
and catalog are rendered as the schema's objects (``views``, ``catalog_views``, ``dates``).
``app`` answers one GraphQL HTTP request (``answer_graphql``) and serves them as an ASGI app
(``graphql_app``).

Names are loaded on first use: importing this package needs no graphql-core.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from orderflow.adapters._exports import lazy_exports

if TYPE_CHECKING:
    from orderflow.adapters.fake.storefront.app import answer_graphql, graphql_app
    from orderflow.adapters.fake.storefront.schema import storefront_schema

_HOMES = {
    "answer_graphql": "orderflow.adapters.fake.storefront.app",
    "graphql_app": "orderflow.adapters.fake.storefront.app",
    "storefront_schema": "orderflow.adapters.fake.storefront.schema",
}

__all__ = ["answer_graphql", "graphql_app", "storefront_schema"]

__getattr__ = lazy_exports(__name__, _HOMES)
