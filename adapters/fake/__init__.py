"""An in-memory Centra: its state (``centra``), shop (``catalog``), prices (``pricing``), the
answers it renders (``rendering``), injected faults (``faults``), its HTTP server (``server``)
and the seed's flow (``seed``)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from orderflow.adapters._exports import lazy_exports

if TYPE_CHECKING:
    from orderflow.adapters.fake.catalog import Catalog
    from orderflow.adapters.fake.centra import FakeCentra
    from orderflow.adapters.fake.faults import FaultPlan, LostAnswer
    from orderflow.adapters.fake.server import FakeServer, create_app

_HOMES = {
    "Catalog": "orderflow.adapters.fake.catalog",
    "FakeCentra": "orderflow.adapters.fake.centra",
    "FakeServer": "orderflow.adapters.fake.server",
    "FaultPlan": "orderflow.adapters.fake.faults",
    "LostAnswer": "orderflow.adapters.fake.faults",
    "create_app": "orderflow.adapters.fake.server",
}

__all__ = ["Catalog", "FakeCentra", "FakeServer", "FaultPlan", "LostAnswer", "create_app"]

__getattr__ = lazy_exports(__name__, _HOMES)
