"""Shoppers' sessions over the Storefront API: bearer tokens standing for selections of the
fake's one shared state.

A request's ``Authorization: Bearer <token>`` is a session token the fake issued, or the shop's
shared session-mode token, which starts a new session (Centra has no mutation for that): with
``FakeCentra.api_key`` set only that key is the shared token; without one any token that is no
session's starts a session, as the Shop API fake accepts any key. A superseded token that is
used up (``Sessions.rotate``) is refused.

A session's selection is made when something first needs it (reading ``selection``, a cart
change), through the Shop API's create endpoint, so ``FakeCentra.calls`` counts it. Once the
selection became an order, by whichever dialect, the session keeps that order as its latest
(``order``) and is given a fresh selection the next time it needs one, as Centra detaches a
paid selection from its session.
"""

from __future__ import annotations

import hmac
import threading
import weakref
from typing import Any

from orderflow.adapters.fake.centra import FakeCentra
from orderflow.adapters.fake.sessions import Sessions
from orderflow.adapters.fake.storefront.views import Views
from orderflow.adapters.shop_api import dialect

__all__ = ["Shopper", "sessions_of", "snapshot"]


class _Side:
    """What the Storefront API keeps of one fake besides the fake's own state."""

    def __init__(self, fake: FakeCentra):
        self.sessions = Sessions()
        self.views = Views(fake.catalog)
        self.languages: dict[str, str] = {}
        """Each selection's language, as ``setLanguage`` chose it."""
        self.earlier: dict[str, str] = {}
        """A session's fresh selection -> the selection of the order it made before."""
        self.lock = threading.Lock()


_SIDES: weakref.WeakKeyDictionary[FakeCentra, _Side] = weakref.WeakKeyDictionary()
_SIDES_LOCK = threading.Lock()


def _side(fake: FakeCentra) -> _Side:
    with _SIDES_LOCK:
        found = _SIDES.get(fake)
        if found is None:
            found = _SIDES[fake] = _Side(fake)
        return found


def sessions_of(fake: FakeCentra) -> Sessions:
    """The session tokens of ``fake``'s session dialects: ``FakeCentra.sessions``, the one the
    Checkout API's shares too, so a token stands for the same selection in both; a fake
    without one (an older ``FakeCentra``) gets one here."""
    shared = getattr(fake, "sessions", None)  # once every FakeCentra has it: fake.sessions
    return shared if isinstance(shared, Sessions) else _side(fake).sessions


def views_of(fake: FakeCentra) -> Views:
    """The Storefront API objects of ``fake``'s catalog and state."""
    return _side(fake).views


def snapshot(fake: FakeCentra, selection: str) -> dict[str, Any] | None:
    """The Shop API answer of ``selection`` as it is now, without a request (not counted, never
    faulted): what a payload shows next to its user errors, the last valid state. ``None`` for
    a selection the fake does not have."""
    return fake.selection_answer(selection)


class Shopper:
    """One request's session: its token, the selection it stands for, the order it made.

    ``open`` is the way in: it refuses a request without a usable bearer token.
    """

    def __init__(self, fake: FakeCentra, token: str):
        self.fake = fake
        self.token = token
        self._side = _side(fake)
        # Read once per request: a superseded token's use is counted on each read.
        self.selection = sessions_of(fake).selection_of(token)

    @classmethod
    def open(cls, fake: FakeCentra, authorization: str | None) -> Shopper | None:
        """The session of a request's ``Authorization`` header; ``None`` when it is refused."""
        scheme, _, bearer = (authorization or "").strip().partition(" ")
        bearer = bearer.strip()
        if scheme.lower() != "bearer" or not bearer:
            return None
        sessions = sessions_of(fake)
        if sessions.known(bearer):
            shopper = cls(fake, bearer)
            return shopper if sessions.known(bearer) else None  # used up: refused
        key = fake.api_key
        if key is None or hmac.compare_digest(bearer.encode(), key.encode()):
            return cls(fake, sessions.start())
        return None

    @property
    def shop_headers(self) -> dict[str, str] | None:
        """The headers the fake's Shop API front door takes from its own dialects."""
        key = self.fake.api_key
        return {dialect.API_KEY_HEADER: key} if key is not None else None

    @property
    def open_selection(self) -> str | None:
        """The session's selection while it is not an order."""
        sel = self.selection
        return sel if sel is not None and sel not in self.fake.orders else None

    @property
    def latest_order(self) -> str | None:
        """The selection of the session's latest order, if it made one."""
        sel = self.selection
        if sel is None:
            return None
        if sel in self.fake.orders:
            return sel
        with self._side.lock:
            return self._side.earlier.get(sel)

    @property
    def language(self) -> str | None:
        """The language the session chose (``setLanguage``), if any."""
        if self.selection is None:
            return None
        with self._side.lock:
            return self._side.languages.get(self.selection)

    def choose_language(self, code: str) -> None:
        """Keep ``code`` as the session's language (it has a selection)."""
        assert self.selection is not None
        with self._side.lock:
            self._side.languages[self.selection] = code

    def attach(self, selection: str) -> None:
        """Make ``selection`` (just created) the session's, keeping its order and language."""
        previous = self.selection
        with self._side.lock:
            if previous is not None:
                if previous in self.fake.orders:
                    self._side.earlier[selection] = previous
                elif previous in self._side.earlier:
                    self._side.earlier[selection] = self._side.earlier[previous]
                language = self._side.languages.get(previous)
                if language is not None:
                    self._side.languages[selection] = language
        sessions_of(self.fake).bind(self.token, selection)
        self.selection = selection

    def answer_token(self) -> str:
        """The token this request's answer carries (``Sessions.answer_token``)."""
        return sessions_of(self.fake).answer_token(self.token)
