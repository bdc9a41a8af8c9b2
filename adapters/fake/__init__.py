"""An in-memory Centra: the front door (``centra``), its state and endpoints (``state``), what
it accepts (``bodies``), its shop (``catalog``), prices (``pricing``), the answers it renders
(``rendering``, ``answer``), injected faults (``faults``, ``malformed``), its HTTP server
(``server``) and the seed's flow (``seed``)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from orderflow.adapters._exports import lazy_exports

if TYPE_CHECKING:
    from orderflow.adapters.fake.answer import Answer
    from orderflow.adapters.fake.catalog import Catalog
    from orderflow.adapters.fake.centra import FakeCentra
    from orderflow.adapters.fake.faults import Fault, FaultPlan, Injection, LostAnswer
    from orderflow.adapters.fake.server import FakeServer, create_app

_HOMES = {
    "Answer": "orderflow.adapters.fake.answer",
    "Catalog": "orderflow.adapters.fake.catalog",
    "FakeCentra": "orderflow.adapters.fake.centra",
    "FakeServer": "orderflow.adapters.fake.server",
    "Fault": "orderflow.adapters.fake.faults",
    "FaultPlan": "orderflow.adapters.fake.faults",
    "Injection": "orderflow.adapters.fake.faults",
    "LostAnswer": "orderflow.adapters.fake.faults",
    "create_app": "orderflow.adapters.fake.server",
}

__all__ = [
    "Answer",
    "Catalog",
    "FakeCentra",
    "FakeServer",
    "Fault",
    "FaultPlan",
    "Injection",
    "LostAnswer",
    "create_app",
]

__getattr__ = lazy_exports(__name__, _HOMES)
