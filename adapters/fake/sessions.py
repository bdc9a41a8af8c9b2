"""Session tokens of the fake's session dialects (the Checkout API, the Storefront API).

Centra's session dialects name a selection by a token instead of its id: the first request
without one starts a session, every answer carries the token to send next, and any answer may
carry a new token that replaces the old one. ``Sessions`` keeps which token stands for which
selection of the fake's one shared state, so a selection made over the Shop API, the Checkout
API or GraphQL is the same selection. With ``rotate`` set, every answer issues a new token and
the old one stops working after ``grace`` later uses (Centra documents that tokens change, not
how long an old one lasts: a choice of ours).
"""

from __future__ import annotations

import secrets
import threading

import attrs


@attrs.define
class _Session:
    selection: str | None
    uses_left: int | None = None  # None: valid until replaced


class Sessions:
    """Tokens to selections, thread-safe. ``rotate``: issue a new token with every answer."""

    def __init__(self, *, rotate: bool = False, grace: int = 1) -> None:
        self.rotate = rotate
        self.grace = grace
        self._tokens: dict[str, _Session] = {}
        self._current: dict[str | None, str] = {}  # selection -> its newest token
        self._lock = threading.Lock()

    def start(self, selection: str | None = None) -> str:
        """A new token, for ``selection`` (or for a session whose selection is not made yet)."""
        token = secrets.token_hex(16)
        with self._lock:
            self._tokens[token] = _Session(selection)
            if selection is not None:
                self._current[selection] = token
        return token

    def selection_of(self, token: str | None) -> str | None:
        """The selection ``token`` stands for; ``None`` for no, an unknown or an expired token,
        and for a session with no selection yet. Counts one use of a superseded token."""
        if token is None:
            return None
        with self._lock:
            session = self._tokens.get(token)
            if session is None:
                return None
            if session.uses_left is not None:
                if session.uses_left <= 0:
                    del self._tokens[token]
                    return None
                session.uses_left -= 1
            return session.selection

    def bound(self, token: str) -> str | None:
        """The selection a live ``token`` stands for, without counting a use of it (``None``
        for an unknown token or one with no selection yet)."""
        with self._lock:
            session = self._tokens.get(token)
            return session.selection if session is not None else None

    def known(self, token: str | None) -> bool:
        """Whether ``token`` is a live token (with or without a selection)."""
        with self._lock:
            return token is not None and token in self._tokens

    def bind(self, token: str, selection: str) -> None:
        """Tie a session that had no selection yet to the one just made for it."""
        with self._lock:
            session = self._tokens.setdefault(token, _Session(selection))
            session.selection = selection
            self._current[selection] = token

    def answer_token(self, token: str) -> str:
        """The token an answer to a request made with ``token`` carries: the same one, or with
        ``rotate`` a new one (the old one then lasts ``grace`` more uses)."""
        if not self.rotate:
            return token
        with self._lock:
            old = self._tokens.get(token)
            if old is None:
                return token
            fresh = secrets.token_hex(16)
            self._tokens[fresh] = _Session(old.selection)
            old.uses_left = self.grace
            if old.selection is not None:
                self._current[old.selection] = fresh
        return fresh

    def token_of(self, selection: str) -> str | None:
        """The newest token of ``selection``, if a session dialect ever used it."""
        with self._lock:
            return self._current.get(selection)
