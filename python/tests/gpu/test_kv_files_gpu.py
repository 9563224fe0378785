"""KvCache's prefix reuse and file tier through the ctypes binding on the GPU: a prefix stored by one store
is found by a second store over the same directory (as by another process), in the file tier, and adopted;
the bytes themselves are compared by the C++ GPU tests (tests/workloads/kv_cache_files_gpu_test.cpp)."""

from __future__ import annotations

import random

import ghtier
from ghtier.kv_cache import KvBlockShape, KvCache, prefix_hashes

SHAPE = KvBlockShape(tokens_per_block=4, layers=2, kv_heads=2, head_dim=16)


def test_a_second_store_finds_and_adopts_a_prefix_through_the_files(tmp_path):
    rng = random.Random()
    ids = [rng.randint(0, 128000) for _ in range(16)]
    with ghtier.Runtime() as runtime:
        with KvCache.with_file_tier(runtime, SHAPE, 16, 4, str(tmp_path)) as first:
            a = first.create()
            first.append(a, len(ids))
            first.register_prefix(a, ids, "m")
            assert first.lookup_prefix(ids, "m") == (16, ["device"] * 4)
            first.suspend(a)
            filler = first.create()
            first.append(filler, 16)
            first.suspend(filler)  # host pressure: a's registered blocks go to files
            assert first.lookup_prefix(ids, "m") == (16, ["file"] * 4)
            assert first.file_statistics()["file_blocks_used"] == 4
        names = sorted(p.name for p in tmp_path.iterdir())
        assert names == sorted(f"{h:016x}.kvb" for h in prefix_hashes(ids, 4, "m"))
        with KvCache.with_file_tier(runtime, SHAPE, 16, 8, str(tmp_path)) as second:
            assert second.lookup_prefix(ids + [1, 2], "m") == (16, ["file"] * 4)
            assert second.lookup_prefix(ids, "other") == (0, [])
            session, cached = second.create_from_prefix(ids + [1, 2], "m")
            assert cached == 16
            assert second.session_tokens(session) == 16
            assert len(second.block_table(session)) == 4
            assert second.file_statistics()["file_read_bytes"] == 4 * SHAPE.block_bytes
            second.set_expiry(session, 30.0)
            second.set_expiry(session, None)
