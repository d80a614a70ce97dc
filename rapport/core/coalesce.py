"""One send for what a response writes in one go.

uvicorn writes an HTTP response in two calls to its transport: the status line and headers when the
app sends ``http.response.start``, the body when it sends ``http.response.body``. uvloop sends each
at once, so a rating's answer of a few hundred bytes went out as two ``send`` system calls and two
TCP segments, each taking the loopback or network stack's whole path and waking the client twice.
Profiled with 32 API clients on this kind of 2-core machine, those two sends were the largest single
share of the server's time holding the interpreter lock (docs/PERFORMANCE.md, "One send per
answer").

:class:`CoalescingHttpToolsProtocol` is uvicorn's own ``httptools`` protocol with one difference: its
transport is a :class:`CoalescingTransport`, which keeps what is written during one turn of the event
loop and sends it together at the start of the next (or at once past :data:`FLUSH_BYTES`, or before
the connection closes or half-closes). Order is kept; nothing written is dropped unless the
connection is aborted or already closing, as with the transport itself. A websocket upgraded from the
connection keeps the same transport, so frames sent together in one turn also go out together.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from typing import Any, cast

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

# Pending bytes beyond this are sent at once: a large response written in one turn (a file in chunks
# with nothing awaited between them) is not held in memory twice.
FLUSH_BYTES = 64 * 1024


class CoalescingTransport:
    """A write transport that sends the writes of one event-loop turn as one (see the module)."""

    __slots__ = ("_transport", "_loop", "_pending", "_size")

    def __init__(self, transport: asyncio.Transport, loop: asyncio.AbstractEventLoop):
        self._transport = transport
        self._loop = loop
        self._pending: list[bytes] = []
        self._size = 0

    def write(self, data: bytes | bytearray | memoryview) -> None:
        if not data:
            return
        if not self._pending:
            self._loop.call_soon(self.flush)
        self._pending.append(bytes(data))
        self._size += len(data)
        if self._size >= FLUSH_BYTES:
            self.flush()

    def writelines(self, lines: Iterable[bytes | bytearray | memoryview]) -> None:
        for data in lines:
            self.write(data)

    def flush(self) -> None:
        """Send what is pending now (the scheduled flush then finds nothing)."""
        if not self._pending:
            return
        pending = self._pending
        self._pending = []
        self._size = 0
        if self._transport.is_closing():  # as the transport itself does with a write after close()
            return
        self._transport.write(pending[0] if len(pending) == 1 else b"".join(pending))

    def get_write_buffer_size(self) -> int:
        return self._transport.get_write_buffer_size() + self._size

    def write_eof(self) -> None:
        self.flush()
        self._transport.write_eof()

    def close(self) -> None:
        self.flush()
        self._transport.close()

    def abort(self) -> None:
        self._pending = []
        self._size = 0
        self._transport.abort()

    def __getattr__(self, name: str) -> Any:  # everything else is the transport's own
        return getattr(self._transport, name)


class CoalescingHttpToolsProtocol(HttpToolsProtocol):
    """uvicorn's ``httptools`` protocol writing through a :class:`CoalescingTransport` (uvicorn's
    ``http=`` option takes the class)."""

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # uvloop's transports are not asyncio.Transport subclasses, but have its methods.
        super().connection_made(CoalescingTransport(cast(asyncio.Transport, transport), self.loop))  # type: ignore[arg-type]
