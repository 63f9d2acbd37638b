"""The spool: in memory while small, on disk past its limit, read back exactly."""

from __future__ import annotations

import os
import tracemalloc
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from postier.store import Spool


def test_small_message_stays_in_memory() -> None:
    with Spool(memory_limit=100) as spool:
        spool.write(b"x" * 60)
        spool.write(memoryview(b"y" * 40))
        assert spool.in_memory
        assert spool.size == 100
        assert spool.getvalue() == b"x" * 60 + b"y" * 40


def test_big_message_moves_to_a_file(tmp_path: Path) -> None:
    with Spool(memory_limit=100, tmp_dir=tmp_path) as spool:
        spool.write(b"a" * 60)
        spool.write(b"b" * 41)
        assert not spool.in_memory
        spool.write(b"c")
        assert spool.size == 102
        assert spool.getvalue() == b"a" * 60 + b"b" * 41 + b"c"
        assert os.listdir(tmp_path) == []  # unnamed: nothing to clean up after a crash


@given(
    st.lists(st.binary(max_size=50), max_size=20),
    st.integers(min_value=0, max_value=300),
    st.integers(min_value=1, max_value=64),
)
def test_chunks_give_back_exactly_what_was_written(
    pieces: list[bytes], limit: int, chunk: int
) -> None:
    with Spool(memory_limit=limit) as spool:
        for piece in pieces:
            spool.write(piece)
        chunks = list(spool.chunks(chunk))
        assert b"".join(chunks) == b"".join(pieces)
        assert all(0 < len(part) <= chunk for part in chunks)
        # Reading again starts over, and writing after reading still appends.
        spool.write(b"tail")
        assert b"".join(spool.chunks(chunk)) == b"".join(pieces) + b"tail"


def test_closed_spool_refuses_use() -> None:
    spool = Spool()
    spool.write(b"x")
    spool.close()
    spool.close()
    with pytest.raises(ValueError, match="closed"):
        spool.write(b"y")
    with pytest.raises(ValueError, match="closed"):
        list(spool.chunks())


def test_memory_stays_bounded_for_a_big_message() -> None:
    size, piece = 50 << 20, 64 << 10
    block = os.urandom(piece)
    tracemalloc.start()
    try:
        with Spool() as spool:
            for _ in range(size // piece):
                spool.write(block)
            read = sum(len(chunk) for chunk in spool.chunks())
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert read == size
    assert peak < 4 << 20, f"peak {peak} bytes for a {size}-byte message"
