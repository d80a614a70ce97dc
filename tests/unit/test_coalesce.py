"""The coalescing transport (rapport/core/coalesce.py): the writes of one event-loop turn go out as one
write, in order, and nothing is lost on close or reordered by a large write."""

from __future__ import annotations

import asyncio

import pytest

from rapport.core.coalesce import FLUSH_BYTES, CoalescingTransport


class FakeTransport:
    """What the coalescing transport passes on: every write, and the calls that end a connection."""

    def __init__(self) -> None:
        self.writes: list[bytes] = []
        self.calls: list[str] = []
        self.closing = False

    def write(self, data: bytes) -> None:
        assert not self.closing, "written after close"
        self.writes.append(data)

    def is_closing(self) -> bool:
        return self.closing

    def close(self) -> None:
        self.calls.append("close")
        self.closing = True

    def abort(self) -> None:
        self.calls.append("abort")
        self.closing = True

    def write_eof(self) -> None:
        self.calls.append("write_eof")

    def get_write_buffer_size(self) -> int:
        return 7

    def get_extra_info(self, name: str, default: object = None) -> object:
        return ("127.0.0.1", 4321) if name == "peername" else default


async def turn() -> None:
    """Let the loop run the callbacks already scheduled (the flush)."""
    await asyncio.sleep(0)


async def test_the_writes_of_one_turn_are_sent_as_one_write_in_order():
    fake = FakeTransport()
    t = CoalescingTransport(fake, asyncio.get_running_loop())  # type: ignore[arg-type]
    t.write(b"HTTP/1.1 201 Created\r\ncontent-length: 2\r\n\r\n")
    t.write(memoryview(b"{}"))
    assert fake.writes == []  # nothing sent before the turn ends
    assert t.get_write_buffer_size() == 7 + 43 + 2  # what the transport holds, and what is pending
    await turn()
    assert fake.writes == [b"HTTP/1.1 201 Created\r\ncontent-length: 2\r\n\r\n{}"]
    t.write(b"next")
    t.writelines([b" and", b" more"])
    await turn()
    assert fake.writes[1:] == [b"next and more"]
    await turn()
    assert len(fake.writes) == 2  # the flush scheduled by the first write sent everything


async def test_a_large_write_goes_out_at_once_after_what_was_pending():
    fake = FakeTransport()
    t = CoalescingTransport(fake, asyncio.get_running_loop())  # type: ignore[arg-type]
    t.write(b"head")
    t.write(b"x" * FLUSH_BYTES)
    assert fake.writes == [b"head" + b"x" * FLUSH_BYTES]  # not held until the turn ends
    t.write(b"tail")
    await turn()
    assert fake.writes[1:] == [b"tail"]


async def test_close_and_half_close_send_what_is_pending_first():
    fake = FakeTransport()
    t = CoalescingTransport(fake, asyncio.get_running_loop())  # type: ignore[arg-type]
    t.write(b"last answer")
    t.write_eof()
    assert fake.writes == [b"last answer"] and fake.calls == ["write_eof"]
    t.write(b"bye")
    t.close()
    assert fake.writes == [b"last answer", b"bye"] and fake.calls == ["write_eof", "close"]
    await turn()  # the flush scheduled before the close finds nothing to send
    assert len(fake.writes) == 2


async def test_abort_drops_what_is_pending_and_a_closing_transport_gets_nothing():
    fake = FakeTransport()
    t = CoalescingTransport(fake, asyncio.get_running_loop())  # type: ignore[arg-type]
    t.write(b"never sent")
    t.abort()
    await turn()
    assert fake.writes == [] and fake.calls == ["abort"]

    closed = FakeTransport()
    t = CoalescingTransport(closed, asyncio.get_running_loop())  # type: ignore[arg-type]
    t.write(b"late")
    closed.closing = True  # the peer went away before the turn ended
    await turn()  # no write after close (FakeTransport would fail the test)
    assert closed.writes == []


async def test_empty_writes_schedule_nothing_and_the_rest_is_the_transports_own():
    fake = FakeTransport()
    loop = asyncio.get_running_loop()
    t = CoalescingTransport(fake, loop)  # type: ignore[arg-type]
    t.write(b"")
    t.flush()
    await turn()
    assert fake.writes == []
    assert t.get_extra_info("peername") == ("127.0.0.1", 4321)
    with pytest.raises(AttributeError):
        t.no_such_method  # noqa: B018
