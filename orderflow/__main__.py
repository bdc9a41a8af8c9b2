"""``python -m orderflow``: the ``orderflow`` command."""

from orderflow.adapters.cli import main

raise SystemExit(main())
