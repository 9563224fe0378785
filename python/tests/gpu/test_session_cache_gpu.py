"""ghtier.torch.SessionCache on the GPU, against transformers' own DynamicCache on the same random-init Llama:
multi-turn greedy chats with suspend/resume between turns give the same tokens (bitwise) and hold the same keys
and values; more sessions than the device pool holds rotate through it with unchanged outputs; forks copy on
write; bad input (an unknown or closed session, resume while resumed, a full host tier, a batch, another dtype,
a sliding-window model) raises a clear ghtier.Error and leaves the other sessions untouched. The device pool is
poisoned (NaN) before use and after every suspend, so a block that was not really written or restored shows."""

from __future__ import annotations

import copy
import os
import pathlib
import random
import subprocess
import sys

import pytest

torch = pytest.importorskip("torch", reason="PyTorch is not installed")
transformers = pytest.importorskip("transformers", reason="transformers is not installed")

import ghtier  # noqa: E402
import ghtier.torch as gt  # noqa: E402
from transformers import DynamicCache  # noqa: E402

pytestmark = pytest.mark.gpu

ROOT = pathlib.Path(__file__).resolve().parents[3]
VOCAB = 512


def make_model(dtype=torch.bfloat16, attention="sdpa", layers=3, seed=0):
    config = transformers.LlamaConfig(vocab_size=VOCAB, hidden_size=128, intermediate_size=256,
                                      num_hidden_layers=layers, num_attention_heads=4, num_key_value_heads=2,
                                      head_dim=32, max_position_embeddings=4096, bos_token_id=None,
                                      eos_token_id=None, pad_token_id=0)
    config._attn_implementation = attention
    torch.manual_seed(seed)
    return transformers.LlamaForCausalLM(config).to("cuda", dtype).eval()


def poison(store):
    """NaN in every device block: what the store did not write or restore cannot pass for data."""
    torch.cuda.synchronize()  # every copy out of the pool (suspends) has finished
    store._pool.fill_(float("nan"))


def make_store(model, device_blocks=64, host_blocks=256):
    store = gt.SessionStore(model, device_blocks=device_blocks, host_blocks=host_blocks)
    poison(store)
    return store


def user_turns(seed, lengths):
    g = torch.Generator().manual_seed(seed)
    return [torch.randint(3, VOCAB, (1, n), generator=g).cuda() for n in lengths]


def generate(model, ids, cache, new_tokens):
    with torch.no_grad():
        return model.generate(ids, attention_mask=torch.ones_like(ids), past_key_values=cache,
                              max_new_tokens=new_tokens, do_sample=False, pad_token_id=0)


class Chat:
    """One conversation: its tokens so far and its cache."""

    def __init__(self, model, cache):
        self.model = model
        self.cache = cache
        self.ids = torch.empty((1, 0), dtype=torch.long, device="cuda")

    def turn(self, user, new_tokens):
        self.ids = torch.cat([self.ids, user], dim=1)
        before = self.ids.shape[1]
        self.ids = generate(self.model, self.ids, self.cache, new_tokens)
        return self.ids[0, before:].tolist()


def stored_kv(cache, layer, which):
    """The session's keys (0) or values (1) of one layer, read from the pool: [1, kv heads, tokens, head dim]."""
    places = cache._places[:, :cache.get_seq_length()]
    return cache._store._layer_view(layer, which)[:, places[0], places[1]].unsqueeze(0)


def assert_same_kv(cache, reference, tokens=None):
    tokens = reference.get_seq_length() if tokens is None else tokens
    assert cache.get_seq_length() == tokens
    for layer in range(len(reference.layers)):
        ref = reference.layers[layer]
        for which, expected in ((0, ref.keys), (1, ref.values)):
            got = stored_kv(cache, layer, which)
            assert torch.equal(got, expected[:, :, :tokens]), f"layer {layer} {'KV'[which]} differs"


@pytest.mark.parametrize("dtype, attention", [(torch.bfloat16, "sdpa"), (torch.float32, "eager")])
def test_multi_turn_chat_matches_dynamic_cache_bitwise(dtype, attention):
    model = make_model(dtype, attention)
    turns = user_turns(1, [37, 5, 16, 21, 1])
    reference = Chat(model, DynamicCache())
    expected = [reference.turn(u, 9) for u in turns]
    with make_store(model) as store:
        chat = Chat(model, store.session())
        got = []
        for i, user in enumerate(turns):
            if i:
                chat.cache.resume()
            got.append(chat.turn(user, 9))
            chat.cache.suspend()
            poison(store)  # the next turn sees only what resume() brings back
        assert got == expected
        chat.cache.resume()
        assert_same_kv(chat.cache, reference.cache)
        s = store.statistics()
        assert s["restored_bytes"] >= store.blocks_for(chat.cache.get_seq_length()) * s["block_bytes"]
        assert s["host_bytes"] == store.blocks_for(chat.cache.get_seq_length()) * s["block_bytes"]


def test_more_sessions_than_the_device_pool_rotate_with_unchanged_outputs():
    model = make_model()
    sessions, turns, new_tokens = 6, 3, 7
    conversations = [user_turns(10 + s, [40 + 9 * s, 11, 23]) for s in range(sessions)]
    longest = max(sum(u.shape[1] for u in c) for c in conversations) + turns * new_tokens
    order = [(s, t) for t in range(turns) for s in range(sessions)]
    random.Random(5).shuffle(order)
    order.sort(key=lambda st: st[1])  # each session's turns in order, sessions interleaved
    expected = {}
    reference = {s: Chat(model, DynamicCache()) for s in range(sessions)}
    for s, t in order:
        expected[(s, t)] = reference[s].turn(conversations[s][t], new_tokens)
    per_session = -(-longest // 16)
    with make_store(model, device_blocks=2 * per_session, host_blocks=sessions * per_session + 4) as store:
        total = sum(store.blocks_for(sum(u.shape[1] for u in c) + turns * new_tokens) for c in conversations)
        assert total > store.device_blocks  # the pool cannot hold every session at once
        chats = {s: Chat(model, store.session()) for s in range(sessions)}
        for s, t in order:
            if t:
                chats[s].cache.resume()
            assert chats[s].turn(conversations[s][t], new_tokens) == expected[(s, t)], (s, t)
            chats[s].cache.suspend()
            poison(store)  # every session is suspended now: all the device pool may go
        for s in range(sessions):
            chats[s].cache.resume()
            assert_same_kv(chats[s].cache, reference[s].cache)
            chats[s].cache.suspend()


def test_fork_copies_the_shared_block_on_write():
    model = make_model()
    first, left, right = user_turns(3, [29, 6, 13])
    base = Chat(model, DynamicCache())
    base.turn(first, 8)  # 36 tokens cached: the third block is partly filled and will be shared
    branch = Chat(model, copy.deepcopy(base.cache))
    branch.ids = base.ids.clone()
    expected = (base.turn(left, 5), branch.turn(right, 5))
    with make_store(model) as store:
        chat = Chat(model, store.session())
        chat.turn(first, 8)
        other = Chat(model, chat.cache.fork())
        other.ids = chat.ids.clone()
        assert (chat.turn(left, 5), other.turn(right, 5)) == expected
        assert_same_kv(chat.cache, base.cache)
        assert_same_kv(other.cache, branch.cache)


def test_resume_while_resumed_and_double_suspend_are_refused_and_the_session_goes_on():
    model = make_model()
    turns = user_turns(4, [20, 7])
    reference = Chat(model, DynamicCache())
    expected = [reference.turn(u, 6) for u in turns]
    with make_store(model) as store:
        chat = Chat(model, store.session())
        assert chat.turn(turns[0], 6) == expected[0]
        with pytest.raises(ghtier.InvalidArgumentError, match="not suspended"):
            chat.cache.resume()
        chat.cache.suspend()
        with pytest.raises(ghtier.InvalidArgumentError, match="already suspended"):
            chat.cache.suspend()
        with pytest.raises(ghtier.InvalidArgumentError, match="suspended: call resume"):
            chat.turn(turns[1], 6)
        chat.ids = chat.ids[:, :-turns[1].shape[1]]  # the refused turn's input
        chat.cache.resume()
        assert chat.turn(turns[1], 6) == expected[1]


def test_unknown_and_closed_sessions_are_refused_and_others_are_untouched():
    model = make_model()
    turns = user_turns(6, [33, 12])
    reference = Chat(model, DynamicCache())
    expected = [reference.turn(u, 5) for u in turns]
    with make_store(model) as store:
        bystander = Chat(model, store.session())
        assert bystander.turn(turns[0], 5) == expected[0]
        bystander.cache.suspend()
        with pytest.raises(ghtier.NotFoundError, match="session"):
            store.kv.resume(10 ** 9)
        with pytest.raises(ghtier.NotFoundError, match="session"):
            store.kv.append(10 ** 9, 4)
        gone = store.session()
        gone.close()
        with pytest.raises(ghtier.ClosedError, match="closed"):
            gone.resume()
        with pytest.raises(ghtier.ClosedError, match="closed"):
            Chat(model, gone).turn(turns[0], 2)
        bystander.cache.resume()
        assert bystander.turn(turns[1], 5) == expected[1]
    with pytest.raises(ghtier.ClosedError, match="closed"):
        bystander.cache.resume()


def test_a_full_host_tier_is_refused_and_loses_no_session():
    model = make_model()
    a_turns, b_turns = user_turns(7, [40, 9]), user_turns(8, [70, 3])
    ref_a, ref_b = Chat(model, DynamicCache()), Chat(model, DynamicCache())
    expected_a = [ref_a.turn(u, 6) for u in a_turns]
    expected_b = [ref_b.turn(u, 6) for u in b_turns]
    with make_store(model, device_blocks=32, host_blocks=5) as store:
        a, b = Chat(model, store.session()), Chat(model, store.session())
        assert a.turn(a_turns[0], 6) == expected_a[0]  # 45 tokens: 3 blocks
        # a suspended while a fork still uses its blocks: they stay on the device, and their host copies, which
        # a needs, cannot be dropped (an active session's kept host copies could: they cost only a later copy).
        fork = a.cache.fork()
        a.cache.suspend()                              # the host tier holds a's 3 blocks
        assert b.turn(b_turns[0], 6) == expected_b[0]  # 75 tokens: 5 blocks, 2 host blocks free
        with pytest.raises(ghtier.OutOfBudgetError, match="host tier is full"):
            b.cache.suspend()
        assert not b.cache.suspended
        assert b.turn(b_turns[1], 6) == expected_b[1]  # b is still on the device, unchanged
        fork.close()
        a.cache.resume()
        assert a.turn(a_turns[1], 6) == expected_a[1]
        assert_same_kv(a.cache, ref_a.cache)
        assert_same_kv(b.cache, ref_b.cache)


def test_host_pressure_drops_a_suspended_sessions_tail_and_keeps_its_prefix():
    model = make_model()
    a_turns, b_turns = user_turns(9, [50, 8]), user_turns(10, [60])
    ref_a = Chat(model, DynamicCache())
    ref_a.turn(a_turns[0], 6)  # 55 tokens cached: 4 blocks
    with make_store(model, device_blocks=32, host_blocks=6) as store:
        a, b = Chat(model, store.session()), Chat(model, store.session())
        a.turn(a_turns[0], 6)
        a.cache.suspend()
        b.turn(b_turns[0], 6)  # 65 tokens: 5 blocks; only 2 host blocks free, so a's last 3 are dropped
        b.cache.suspend()
        poison(store)
        a.cache.resume()
        assert a.cache.dropped_tokens == 55 - 16
        assert_same_kv(a.cache, ref_a.cache, tokens=16)  # the kept prefix is intact
        answer = a.turn(a_turns[1], 4)  # generate prefills the dropped tail again
        assert len(answer) == 4 and a.cache.get_seq_length() == a.ids.shape[1] - 1


def test_batches_beams_autograd_other_dtypes_and_sliding_windows_are_refused():
    model = make_model()
    with make_store(model) as store:
        cache = store.session()
        with pytest.raises(ghtier.InvalidArgumentError, match="batch of 2"):
            generate(model, torch.randint(3, VOCAB, (2, 8), device="cuda"), cache, 2)
        with pytest.raises(ghtier.Error):
            with torch.no_grad():
                model.generate(torch.randint(3, VOCAB, (1, 8), device="cuda"), past_key_values=store.session(),
                               num_beams=2, max_new_tokens=2, pad_token_id=0)
        with pytest.raises(ghtier.UnsupportedError, match="inference"):
            model(input_ids=torch.randint(3, VOCAB, (1, 8), device="cuda"), past_key_values=store.session(),
                  use_cache=True)
        bystander = Chat(model, cache)  # the refused batch changed nothing: the session still starts empty
        reference = Chat(model, DynamicCache())
        user = user_turns(11, [12])[0]
        assert bystander.turn(user, 4) == reference.turn(user, 4)
    with gt.SessionStore(model, device_blocks=8, host_blocks=8, dtype=torch.float16) as half:
        with pytest.raises(ghtier.InvalidArgumentError, match="bfloat16"):
            generate(model, torch.randint(3, VOCAB, (1, 8), device="cuda"), half.session(), 2)
    mistral = transformers.MistralConfig(num_hidden_layers=2, sliding_window=64)
    with pytest.raises(ghtier.UnsupportedError, match="sliding window"):
        gt.SessionStore(mistral, device_blocks=8, host_blocks=8, dtype=torch.bfloat16, device="cuda")
    with pytest.raises(ghtier.InvalidArgumentError, match="device_blocks"):
        gt.SessionStore(model, device_blocks=-1, host_blocks=8)


def test_multi_turn_chat_example_runs():
    env = dict(os.environ, PYTHONPATH=str(ROOT / "python") + os.pathsep + os.environ.get("PYTHONPATH", ""))
    result = subprocess.run([sys.executable, str(ROOT / "python" / "examples" / "multi_turn_chat.py")],
                            capture_output=True, text=True, env=env, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    lines = [line for line in result.stdout.splitlines() if line.startswith("turn ")]
    assert len(lines) == 3 and all("suspended" in line for line in lines)
