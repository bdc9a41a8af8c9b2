"""Path segments of Centra's URLs, quoted so no value can change the path it goes into."""

from __future__ import annotations

from urllib.parse import quote


def segment(value: object) -> str:
    """``value`` as one path segment: every character but the unreserved ones quoted
    (``"TEST+CODE"`` -> ``"TEST%2BCODE"``, ``"/"`` too), and the dots of ``"."`` and ``".."``,
    which a URL would otherwise resolve away (``DELETE vouchers/..`` must not become
    ``DELETE /``)."""
    text = quote(str(value), safe="")
    return text.replace(".", "%2E") if text in (".", "..") else text
