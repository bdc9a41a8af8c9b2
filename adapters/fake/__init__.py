"""An in-memory Centra: the front door (``centra``), its state and endpoints (``state``,
``carts``, ``cart``), what it accepts (``bodies``), its shop (``catalog``), prices
(``pricing``), stock (``stock``), payment providers (``payments``, ``providers``), orders
(``orders``) and their webhooks (``webhooks``), the answers it renders (``rendering``,
``answer``), injected faults (``faults``, ``malformed``), its HTTP server (``server``) and the
seed's flow (``seed``). ``docs/fidelity.md`` says what of Centra each part models."""

from __future__ import annotations

from typing import TYPE_CHECKING

from orderflow.adapters._exports import lazy_exports

if TYPE_CHECKING:
    from orderflow.adapters.fake.answer import Answer
    from orderflow.adapters.fake.cart import OrderStatus
    from orderflow.adapters.fake.catalog import Catalog
    from orderflow.adapters.fake.centra import FakeCentra
    from orderflow.adapters.fake.faults import Fault, FaultPlan, Injection, LostAnswer
    from orderflow.adapters.fake.server import FakeServer, Mount, create_app
    from orderflow.adapters.fake.webhooks import Delivery, WebhookSender

_HOMES = {
    "Answer": "orderflow.adapters.fake.answer",
    "Catalog": "orderflow.adapters.fake.catalog",
    "Delivery": "orderflow.adapters.fake.webhooks",
    "FakeCentra": "orderflow.adapters.fake.centra",
    "FakeServer": "orderflow.adapters.fake.server",
    "Fault": "orderflow.adapters.fake.faults",
    "FaultPlan": "orderflow.adapters.fake.faults",
    "Injection": "orderflow.adapters.fake.faults",
    "LostAnswer": "orderflow.adapters.fake.faults",
    "Mount": "orderflow.adapters.fake.server",
    "OrderStatus": "orderflow.adapters.fake.cart",
    "WebhookSender": "orderflow.adapters.fake.webhooks",
    "create_app": "orderflow.adapters.fake.server",
}

__all__ = [
    "Answer",
    "Catalog",
    "Delivery",
    "FakeCentra",
    "FakeServer",
    "Fault",
    "FaultPlan",
    "Injection",
    "LostAnswer",
    "Mount",
    "OrderStatus",
    "WebhookSender",
    "create_app",
]

__getattr__ = lazy_exports(__name__, _HOMES)
