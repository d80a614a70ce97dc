"""Rating ids (models/crypto.py new_uuid): random version-4 UUIDs read from the system's source in
blocks. What the store relies on: each id is a valid v4 UUID, none repeats within a process, across
threads, or between a process and a child forked from it (``rapport serve --workers`` forks)."""

from __future__ import annotations

import copy
import os
import pickle
import threading
import uuid

import pytest

from models.crypto import new_uuid


def test_ids_are_version_4_uuids_and_do_not_repeat_across_blocks():
    ids = [new_uuid() for _ in range(5_000)]  # about twenty blocks of bytes
    assert len(set(ids)) == len(ids)
    assert all(i.version == 4 and i.variant == uuid.RFC_4122 for i in ids)


def test_an_id_is_the_same_in_every_way_as_the_uuid_made_from_its_number():
    """Made without UUID.__init__: equal, hashed, printed, copied and pickled as UUID(int=...) is,
    and as immutable."""
    made = new_uuid()
    usual = uuid.UUID(int=made.int)
    assert made == usual and hash(made) == hash(usual) and str(made) == str(usual)
    assert made.hex == usual.hex and made.is_safe is usual.is_safe is uuid.SafeUUID.unknown
    assert pickle.loads(pickle.dumps(made)) == usual and copy.deepcopy(made) == usual
    with pytest.raises(TypeError):
        made.int = 1  # type: ignore[misc]


def test_threads_draw_their_own_ids():
    found: list[list[uuid.UUID]] = [[] for _ in range(4)]

    def draw(k: int) -> None:
        found[k] = [new_uuid() for _ in range(1_000)]

    threads = [threading.Thread(target=draw, args=(k,)) for k in range(4)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    every = [i for ids in found for i in ids]
    assert len(every) == 4_000 and len(set(every)) == 4_000


def test_a_forked_child_does_not_reuse_the_parents_unread_bytes():
    new_uuid()  # the parent holds a block with 255 ids left
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: its next ids, to the parent
        try:
            os.write(write, b"".join(new_uuid().bytes for _ in range(8)))
        finally:
            os._exit(0)
    os.close(write)
    data = b""
    while chunk := os.read(read, 4096):
        data += chunk
    os.close(read)
    os.waitpid(pid, 0)
    child = {uuid.UUID(bytes=data[i : i + 16]) for i in range(0, len(data), 16)}
    parent = {new_uuid() for _ in range(8)}
    assert len(child) == 8 and not child & parent
