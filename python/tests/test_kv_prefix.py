"""KV prefix reuse and the file tier from Python without a GPU: the block hashes against an independent
pure-Python implementation of the documented chain (splitmix64 folding), the file tier's directory errors
before the need for a GPU, and argument errors."""

from __future__ import annotations

import random

import pytest

import ghtier
from ghtier.kv_cache import KvBlockShape, KvCache, prefix_hashes

_M = (1 << 64) - 1


def _mix(z: int) -> int:
    z = (z + 0x9E3779B97F4A7C15) & _M
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & _M
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & _M
    return z ^ (z >> 31)


def _fold(state: int, word: int) -> int:
    return _mix(state ^ word)


def _reference_hashes(tokens, tokens_per_block, salt):
    salt_hash = _fold(0x6768746965722D73, len(salt.encode()))  # "ghtier-s"
    for c in salt.encode():
        salt_hash = _fold(salt_hash, c)
    hashes, parent = [], 0
    for start in range(0, len(tokens) - tokens_per_block + 1, tokens_per_block):
        h = _fold(0x6768746965722D62, parent)  # "ghtier-b"
        h = _fold(h, salt_hash)
        h = _fold(h, tokens_per_block)
        for t in tokens[start:start + tokens_per_block]:
            h = _fold(h, t & 0xFFFFFFFF)
        hashes.append(h)
        parent = h
    return hashes


def test_prefix_hashes_match_an_independent_implementation():
    rng = random.Random()
    for _ in range(20):
        tpb = rng.randint(1, 32)
        tokens = [rng.randint(-5, 128000) for _ in range(rng.randint(0, 300))]
        salt = rng.choice(["", "llama-3-8b", "Mistral-7B@rev2", "é"])
        assert prefix_hashes(tokens, tpb, salt) == _reference_hashes(tokens, tpb, salt)


def test_prefixes_share_hashes_and_salts_separate_them():
    tokens = list(range(64))
    full = prefix_hashes(tokens, 16, "m")
    assert len(full) == 4
    assert prefix_hashes(tokens[:40], 16, "m") == full[:2]
    assert prefix_hashes(tokens, 16, "n") != full
    assert prefix_hashes([1] + tokens[1:], 16, "m")[1] != full[1]  # the chain carries the first block


def test_hash_argument_errors():
    with pytest.raises(ghtier.InvalidArgumentError, match="tokens_per_block"):
        prefix_hashes([1, 2], 0, "m")
    with pytest.raises(ghtier.InvalidArgumentError, match="int32"):
        prefix_hashes([1 << 40], 16, "m")
    with pytest.raises(ghtier.InvalidArgumentError, match="salt"):
        prefix_hashes([1], 16, None)


def test_a_read_only_file_tier_is_refused_before_the_gpu(tmp_path):
    shape = KvBlockShape(tokens_per_block=4, layers=2, kv_heads=2, head_dim=16)
    with ghtier.Runtime(assumed_profile="x86-h100-pcie") as runtime:
        with pytest.raises(ghtier.GhtierIOError, match="read-only"):
            KvCache.with_file_tier(runtime, shape, 4, 4, "/proc")
        with pytest.raises(ghtier.InvalidArgumentError, match="host_blocks"):
            KvCache.with_file_tier(runtime, shape, 4, 0, str(tmp_path))
        # A usable directory gets as far as the offline runtime (and the old constructor still works).
        with pytest.raises(ghtier.UnsupportedError, match="offline"):
            KvCache.with_file_tier(runtime, shape, 4, 4, str(tmp_path / "blocks"))
        assert (tmp_path / "blocks").is_dir()
        with pytest.raises(ghtier.UnsupportedError, match="offline"):
            KvCache(runtime, shape, 4, 4)
