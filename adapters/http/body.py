"""An answer's body, read within bounds: bytes on the wire, and bytes after decompression.

Pure (no httpx): ``Body`` is fed the raw chunks as they arrive and inflates gzip or deflate
itself, with zlib's ``max_length``, so a small compressed chunk can never grow past the limit
in memory (httpx's own decoders inflate each chunk whole: a 64 KiB chunk of a gzip bomb
becomes 64 MiB before anyone could count it).
"""

from __future__ import annotations

import zlib
from typing import Final

__all__ = ["Body", "BodyTooLarge", "BrokenBody"]

_CODINGS: Final = {"gzip": 16 + zlib.MAX_WBITS, "x-gzip": 16 + zlib.MAX_WBITS, "deflate": None}


class BrokenBody(Exception):
    """The body cannot be read: an unknown or broken content encoding."""


class BodyTooLarge(BrokenBody):
    """The body went past one of its limits; reading stopped there."""


class Body:
    """Collects an answer's body: at most ``max_wire`` bytes received, ``max_decoded`` kept.

    ``encoding`` is the ``Content-Encoding`` header (``gzip``, ``deflate``, ``identity`` or
    none). Raises ``BrokenBody`` for an encoding it cannot decode, ``BodyTooLarge`` as soon as
    a limit is passed.
    """

    def __init__(self, encoding: str | None, *, max_wire: int, max_decoded: int):
        codings = [c.strip().lower() for c in (encoding or "").split(",")]
        codings = [c for c in codings if c and c != "identity"]
        if len(codings) > 1 or (codings and codings[0] not in _CODINGS):
            raise BrokenBody(f"content encoding {encoding!r} is not gzip or deflate")
        self.coding = codings[0] if codings else None
        self.max_wire = max_wire
        self.max_decoded = max_decoded
        self.received = 0
        self._kept = bytearray()
        self._inflater: zlib._Decompress | None = None
        self._fresh = True  # deflate: zlib-wrapped or raw is known after the first chunk
        self._padding = False  # only zero bytes may follow: the end was followed by padding
        if self.coding is not None:
            wbits = _CODINGS[self.coding]
            self._inflater = zlib.decompressobj(wbits if wbits is not None else zlib.MAX_WBITS)

    def feed(self, chunk: bytes) -> None:
        """Take the next raw chunk. Raises ``BodyTooLarge`` or ``BrokenBody``."""
        self.received += len(chunk)
        if self.received > self.max_wire:
            raise BodyTooLarge(f"more than {self.max_wire} bytes on the wire (max_answer_bytes)")
        if self._inflater is None:
            self._keep(chunk)
            return
        data = chunk
        while data:
            if self._inflater.eof:
                data = self._after_end(data)
                continue
            room = self.max_decoded - len(self._kept)
            try:
                piece = self._inflater.decompress(data, room + 1)  # never 0: that is unbounded
            except zlib.error as broken:
                if self._fresh and self.coding == "deflate":
                    # Some servers send raw deflate without the zlib wrapper, as httpx allows.
                    self._fresh = False
                    self._inflater = zlib.decompressobj(-zlib.MAX_WBITS)
                    continue
                raise BrokenBody(f"the {self.coding} stream is broken ({broken})") from None
            self._fresh = False
            self._keep(piece)
            inflater = self._inflater
            data = inflater.unused_data if inflater.eof else inflater.unconsumed_tail

    def _after_end(self, data: bytes) -> bytes:
        """What follows the end of a stream: the next gzip member (returned, to inflate), or
        zero padding (ignored, as gzip does). Raises ``BrokenBody`` for anything else: those
        bytes are part of the body too, and no reading of it would leave them out."""
        if not self._padding and self.coding != "deflate" and data[0] != 0:
            self._inflater = zlib.decompressobj(16 + zlib.MAX_WBITS)  # RFC 1952: members follow
            return data
        if data.strip(b"\0"):
            raise BrokenBody(
                f"the {self.coding} stream is followed by bytes that are not part of it"
            )
        self._padding = True
        return b""

    def finish(self) -> bytes:
        """The whole decoded body. Raises ``BrokenBody`` for a compressed stream cut short."""
        if self._inflater is not None:
            if self.received and not self._inflater.eof:
                raise BrokenBody(f"the {self.coding} stream ends before its end")
            self._keep(self._inflater.flush())
        return bytes(self._kept)

    def _keep(self, piece: bytes) -> None:
        if len(self._kept) + len(piece) > self.max_decoded:
            raise BodyTooLarge(
                f"more than {self.max_decoded} bytes after decompression (max_decoded_bytes)"
            )
        self._kept += piece
