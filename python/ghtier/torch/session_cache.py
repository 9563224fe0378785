"""``SessionCache``: a ``transformers`` Cache whose keys and values live in ghtier's paged KV store, so a
conversation's cache can leave the GPU between turns and come back at the link's speed instead of being
recomputed::

    store = ghtier.torch.SessionStore(model, device_blocks=4096, host_blocks=65536)
    cache = store.session()                                   # one conversation
    out = model.generate(ids, past_key_values=cache, max_new_tokens=64)
    cache.suspend()                                           # after the turn: to the host tier
    ...
    cache.resume()                                            # before the next turn
    out = model.generate(torch.cat([out, reply], -1), past_key_values=cache, max_new_tokens=64)
    cache.close()                                             # forgets the session

How it works. A :class:`SessionStore` owns one ghtier KV store (``ghtier.KvCache``: a device block pool and a
pinned host block pool, both reserved once) shaped for the model: 16-token blocks x layers x KV heads x head
dim x dtype, laid out per block as [layer][K or V][token][kv head][head dim]. The device pool is viewed as one
tensor. Each :class:`SessionCache` is one store session: ``update()`` (called by every attention layer) asks the
store for room for the new tokens (``append``, once per forward pass), writes their K/V into the session's blocks
and returns the whole context's K/V gathered from the blocks (one index kernel per tensor) for attention.
``suspend()`` moves the blocks to the host tier in one batch (device blocks freed once copied); ``resume()``
brings them back in one batch that the current stream waits for (the host is not blocked). Everything runs on
the current CUDA stream.

Refused, with the reason: a batch of more than one sequence (a session is one conversation: use one cache per
conversation), beam search, ``num_return_sequences > 1``, cropping (assisted decoding), CUDA graph capture and
``torch.compile`` of the cache (the store is driven by the host), autograd (inference only), models with
sliding-window or linear-attention layers, keys or values whose heads, head dim, dtype or device differ from the
store's, and any use of a suspended session before ``resume()``.
"""

from __future__ import annotations

import weakref
from typing import Any, Dict, List, Optional

import torch

from .._owned_handle import Closeable
from ..errors import ClosedError, InvalidArgumentError, UnsupportedError
from ..kv_cache import KvBlockShape, KvCache, KvResumePlan
from ..runtime import Runtime

try:
    from transformers.cache_utils import Cache, DynamicLayer
except ImportError as _e:  # pragma: no cover - exercised where transformers is missing
    raise ImportError(f"ghtier.torch.SessionCache needs transformers (import failed: {_e})") from None

__all__ = ["SessionStore", "SessionCache"]


class _PoolMemory:
    """The store's device pool as a CUDA array (1-D bytes) for torch.as_tensor; keeps the store alive."""

    def __init__(self, kv: KvCache, nbytes: int) -> None:
        self.kv = kv
        self.__cuda_array_interface__ = {"shape": (nbytes,), "typestr": "|u1", "data": (kv.device_pool, False),
                                         "version": 3, "strides": None, "stream": None}


class SessionStore(Closeable):
    """One ghtier KV store shaped for a model, whose sessions are :class:`SessionCache` objects.

    Args:
        model: a transformers model (or its config; then give `dtype` and `device`).
        device_blocks: blocks of the device pool (each holds ``tokens_per_block`` tokens of every layer).
        host_blocks: blocks of the pinned host pool (where suspended sessions live; 0: no suspend).
        tokens_per_block: tokens per block (16).
        dtype, device: of the keys and values (default: the model's parameters').

    :meth:`blocks_for` converts tokens to blocks. Raises InvalidArgumentError for a bad shape or count,
    UnsupportedError for a model with sliding-window or linear-attention layers, OutOfMemoryError /
    OutOfBudgetError when a pool cannot be reserved.
    """

    # Not closed when collected: a tensor viewing the device pool may outlive the store (it keeps the KV store
    # alive through _PoolMemory); the KV store and the runtime close themselves once nothing uses them.
    _close_when_collected = False

    def __init__(self, model: Any, *, device_blocks: int, host_blocks: int, tokens_per_block: int = 16,
                 dtype: Optional[torch.dtype] = None, device: Any = None) -> None:
        config = getattr(model, "config", model)
        parameter = next(model.parameters(), None) if isinstance(model, torch.nn.Module) else None
        dtype = dtype if dtype is not None else (parameter.dtype if parameter is not None else None)
        device = device if device is not None else (parameter.device if parameter is not None else None)
        if not isinstance(dtype, torch.dtype) or not (dtype.is_floating_point):
            raise InvalidArgumentError(f"dtype is {dtype!r}: a floating-point torch.dtype (give dtype= with a config)")
        device = torch.device(device if device is not None else "cuda")
        if device.type != "cuda":
            raise InvalidArgumentError(f"device is {device}: the KV store lives on a CUDA device")
        if isinstance(tokens_per_block, bool) or not isinstance(tokens_per_block, int) or tokens_per_block <= 0:
            raise InvalidArgumentError(f"tokens_per_block is {tokens_per_block!r}: a positive int")
        for name, value in (("device_blocks", device_blocks), ("host_blocks", host_blocks)):
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                raise InvalidArgumentError(f"{name} is {value!r}: a number of blocks (int >= 0)")
        self.device = torch.device("cuda", device.index if device.index is not None else torch.cuda.current_device())
        self.dtype = dtype
        self.shape = KvBlockShape.from_config(config, torch.empty((), dtype=dtype).element_size(), tokens_per_block)
        self._runtime = Runtime(device=self.device.index)
        try:
            self.kv = KvCache(self._runtime, self.shape, device_blocks, host_blocks)
        except BaseException:
            self._runtime.close()
            raise
        self.device_blocks = device_blocks
        self.host_blocks = host_blocks
        s = self.shape
        try:
            pool = torch.as_tensor(_PoolMemory(self.kv, device_blocks * s.block_bytes), device=self.device)
        except BaseException:
            self.kv.close()
            self._runtime.close()
            raise
        # [block][layer][K or V][token][kv head][head dim], as the store lays blocks out.
        self._pool: Optional[torch.Tensor] = pool.view(dtype).view(device_blocks, s.layers, 2, s.tokens_per_block,
                                                                   s.kv_heads, s.head_dim)
        self._positions = torch.empty(0, dtype=torch.int64, device=self.device)
        self._sessions: "weakref.WeakSet[SessionCache]" = weakref.WeakSet()

    def blocks_for(self, tokens: int) -> int:
        """Blocks that hold `tokens` tokens of one session."""
        return -(-int(tokens) // self.shape.tokens_per_block)

    def session(self, priority: int = 0) -> "SessionCache":
        """A new, empty conversation (higher `priority`: its blocks are evicted later)."""
        return SessionCache(self, priority)

    def statistics(self) -> Dict[str, int]:
        """The store's counters, and the bytes each tier holds now (``device_bytes``, ``host_bytes``)."""
        s = self._live().statistics()
        s["device_bytes"] = s["device_blocks_used"] * s["block_bytes"]
        s["host_bytes"] = s["host_blocks_used"] * s["block_bytes"]
        return s

    def _live(self) -> KvCache:
        if self._pool is None:
            raise ClosedError("the SessionStore was closed")
        return self.kv

    def _layer_view(self, layer: int, which: int) -> torch.Tensor:
        """Keys (0) or values (1) of one layer over the whole pool, as [kv head][block][token][head dim]."""
        assert self._pool is not None
        return self._pool[:, layer, which].permute(2, 0, 1, 3)

    def _table_tensor(self, table: List[int]) -> torch.Tensor:
        """A session's block table on the device. Pinned first, so the copy is asynchronous: the host does not
        wait for the stream."""
        return torch.tensor(table, dtype=torch.int64).pin_memory().to(self.device, non_blocking=True)

    def _token_places(self, table: torch.Tensor, tokens: int) -> torch.Tensor:
        """[2, tokens]: the block and the place in it of each of a session's tokens (on the device)."""
        if self._positions.numel() < tokens:
            self._positions = torch.arange(max(tokens, 2 * self._positions.numel()), dtype=torch.int64,
                                           device=self.device)
        position = self._positions[:tokens]
        t = self.shape.tokens_per_block
        return torch.stack((table[torch.div(position, t, rounding_mode="floor")], position % t))

    def close(self) -> None:
        """Drops every session, then frees both pools (after the device finished its work on them)."""
        if self._pool is None:
            return
        for session in list(self._sessions):
            session.close()
        torch.cuda.synchronize(self.device)
        self._pool = None
        self.kv.close()
        self._runtime.close()

    def __repr__(self) -> str:
        s = self.shape
        return (f"<ghtier.torch.SessionStore {s.layers} layers x {s.kv_heads} KV heads x {s.head_dim} {self.dtype}, "
                f"{s.tokens_per_block}-token blocks, {self.device_blocks} device / {self.host_blocks} host>")


class _SessionLayer(DynamicLayer):
    """One layer of a session: how many tokens it has seen. Its bytes are the session's blocks in the store.
    (A DynamicLayer, so that the mask sizes follow the installed transformers' convention.)"""

    is_compileable = False
    is_croppable = False
    is_sliding = False

    def __init__(self, owner: "SessionCache", index: int) -> None:
        super().__init__()
        self._owner = weakref.proxy(owner)
        self._index = index
        self.length = 0
        self.is_initialized = True

    def lazy_initialization(self, key_states: torch.Tensor, value_states: torch.Tensor) -> None:
        pass

    def update(self, key_states: torch.Tensor, value_states: torch.Tensor, *args: Any, **kwargs: Any) -> Any:
        return self._owner._update(self._index, key_states, value_states)

    def get_seq_length(self, *args: Any, **kwargs: Any) -> int:
        return self.length

    def get_max_length(self) -> int:
        return -1

    def crop(self, tokens_to_remove: int = 0, *args: Any, **kwargs: Any) -> None:
        if tokens_to_remove == 0:
            return
        raise UnsupportedError("SessionCache cannot be cropped (assisted decoding): the store has no truncate")

    def reorder_cache(self, beam_idx: torch.Tensor) -> None:
        raise UnsupportedError("SessionCache does not support beam search: a session is one sequence")

    def batch_repeat_interleave(self, repeats: int) -> None:
        if repeats != 1:
            raise UnsupportedError(f"SessionCache holds one sequence; it cannot be repeated {repeats} times "
                                   "(num_return_sequences > 1 or beam search)")

    def batch_select_indices(self, indices: torch.Tensor) -> None:
        if indices.numel() != 1 or int(indices.reshape(-1)[0]) != 0:
            raise UnsupportedError("SessionCache holds one sequence; it cannot select other batch rows")

    def reset(self) -> None:
        raise UnsupportedError("SessionCache cannot be reset; close() it and start a new session")

    def offload(self) -> None:
        raise UnsupportedError("SessionCache offloads through suspend(), not transformers' layer offloading")

    def prefetch(self) -> None:
        raise UnsupportedError("SessionCache restores through resume(), not transformers' layer prefetching")


class SessionCache(Cache, Closeable):
    """One conversation's KV cache in a :class:`SessionStore` (``store.session()``); pass it to ``generate`` or
    the model's forward as ``past_key_values``. Between turns :meth:`suspend` it and :meth:`resume` it.

    Attributes: ``session_id`` (the store's session), ``dropped_tokens`` (tokens lost to host-tier pressure while
    suspended: ``resume`` keeps the cached prefix, and the next ``generate`` with the whole conversation prefills
    the rest).
    """

    def __init__(self, store: SessionStore, priority: int = 0, *, _session: Optional[int] = None) -> None:
        if not isinstance(store, SessionStore):
            raise InvalidArgumentError(f"store is {type(store).__name__}: a ghtier.torch.SessionStore")
        super().__init__(layers=[_SessionLayer(self, i) for i in range(store.shape.layers)])
        self._store = store
        self._suspended = False
        self._closed = False
        self._places: Optional[torch.Tensor] = None  # [2, tokens]: block, place in block
        self._table: Optional[torch.Tensor] = None  # the block table on the device
        self._tokens = 0
        self._shared = False  # forked: an append may copy the last block on write
        self._failed: Optional[str] = None
        self.dropped_tokens = 0
        kv = store._live()
        self.session_id = kv.create(priority) if _session is None else _session
        store._sessions.add(self)

    # ---- transformers' Cache ----------------------------------------------------------------------------
    def _update(self, layer: int, keys: torch.Tensor, values: torch.Tensor) -> Any:
        store = self._usable()
        self._check_states(keys, values)
        if torch.cuda.is_current_stream_capturing():
            raise UnsupportedError("SessionCache: CUDA graph capture is not supported (the store is driven by the "
                                   "host)")
        state = self.layers[layer]
        start, end = state.length, state.length + keys.shape[-2]
        if end > self._tokens:
            if start != self._tokens:
                raise InvalidArgumentError(f"SessionCache: layer {layer} has {start} tokens, the session "
                                           f"{self._tokens}: a forward pass was interrupted; close this session")
            self._append(end - self._tokens)
        assert self._places is not None
        try:
            new = self._places[:, start:end]
            whole = self._places[:, :end]
            out = []
            for which, states in ((0, keys), (1, values)):
                view = store._layer_view(layer, which)
                view[:, new[0], new[1]] = states[0]
                # A first update returns the states themselves, as DynamicCache does: the same values in a copy
                # of another layout can make attention pick another kernel and round differently in bf16.
                out.append(states if start == 0 else view[:, whole[0], whole[1]].contiguous().unsqueeze(0))
        except BaseException as e:
            self._failed = f"writing layer {layer} failed ({type(e).__name__}: {e})"
            raise
        state.length = end
        return out[0], out[1]

    def _check_states(self, keys: torch.Tensor, values: torch.Tensor) -> None:
        store = self._store
        s = store.shape
        expected = (1, s.kv_heads, keys.shape[-2] if keys.dim() == 4 else 0, s.head_dim)
        for name, t in (("keys", keys), ("values", values)):
            if t.dim() != 4 or tuple(t.shape) != expected:
                if t.dim() == 4 and t.shape[0] != 1:
                    raise InvalidArgumentError(f"SessionCache: {name} have a batch of {t.shape[0]}: a session is one "
                                               "sequence (use one SessionCache per conversation)")
                raise InvalidArgumentError(f"SessionCache: {name} have shape {tuple(t.shape)}; the store holds "
                                           f"[1, {s.kv_heads} KV heads, tokens, {s.head_dim}]")
            if t.dtype != store.dtype or t.device != store.device:
                raise InvalidArgumentError(f"SessionCache: {name} are {t.dtype} on {t.device}; the store holds "
                                           f"{store.dtype} on {store.device}")
        if keys.shape[-2] == 0:
            raise InvalidArgumentError("SessionCache: update with 0 tokens")
        if torch.is_grad_enabled() and (keys.requires_grad or values.requires_grad):
            raise UnsupportedError("SessionCache is for inference: the store keeps no autograd history; run the model "
                                   "under torch.no_grad() or torch.inference_mode() (generate does)")

    def _append(self, n: int) -> None:
        store = self._store
        stream = torch.cuda.current_stream(store.device)
        new = store.kv.append(self.session_id, n, stream)  # raises with nothing changed
        tokens = self._tokens + n
        try:
            if new or self._shared or self._table is None:
                self._table = store._table_tensor(store.kv.block_table(self.session_id))
            self._places = store._token_places(self._table, tokens)
        except BaseException as e:
            self._failed = f"the block table could not be read after an append ({type(e).__name__}: {e})"
            raise
        self._tokens = tokens

    def get_seq_length(self, layer_idx: int = 0) -> int:
        if layer_idx >= len(self.layers):
            return 0
        return self.layers[layer_idx].length

    # ---- sessions -----------------------------------------------------------------------------------------
    @property
    def suspended(self) -> bool:
        return self._suspended

    @property
    def closed(self) -> bool:
        return self._closed

    def _usable(self) -> SessionStore:
        if self._closed:
            raise ClosedError(f"SessionCache: session {self.session_id} was closed")
        self._store._live()
        if self._suspended:
            raise InvalidArgumentError(f"SessionCache: session {self.session_id} is suspended: call resume() before "
                                       "using it")
        if self._failed is not None:
            raise InvalidArgumentError(f"SessionCache: session {self.session_id} is unusable: {self._failed}; close "
                                       "it and start a new one")
        return self._store

    def _open(self) -> SessionStore:
        if self._closed:
            raise ClosedError(f"SessionCache: session {self.session_id} was closed")
        self._store._live()
        return self._store

    def suspend(self, stream: Optional[torch.cuda.Stream] = None) -> None:
        """Moves the session to the host tier in one batch after the work queued on `stream` (default: the
        current stream); its device blocks are freed once copied. Raises OutOfBudgetError when the host tier is
        full (the session stays on the device, unchanged), InvalidArgumentError when already suspended."""
        store = self._open()
        stream = stream if stream is not None else torch.cuda.current_stream(store.device)
        # Blocks that already have a host copy are freed without a copy, at once: the kernels still queued on
        # the stream that read them must have run before another session's copy may land in them.
        stream.synchronize()
        store.kv.suspend(self.session_id, stream)
        self._suspended = True
        self._places = self._table = None

    def resume(self, stream: Optional[torch.cuda.Stream] = None) -> None:
        """Brings the session back to device blocks in one batch that `stream` (default: the current stream)
        waits for; the host is not blocked. Raises InvalidArgumentError when not suspended, OutOfBudgetError when
        the device pool cannot take it (nothing changed)."""
        store = self._open()
        stream = stream if stream is not None else torch.cuda.current_stream(store.device)
        store.kv.resume(self.session_id, stream)
        self._suspended = False
        table = store.kv.block_table(self.session_id)
        kept = min(self._tokens, len(table) * store.shape.tokens_per_block)
        if kept < self._tokens:  # host-tier pressure dropped the session's tail while it was suspended
            self.dropped_tokens += self._tokens - kept
            self._tokens = kept
            for state in self.layers:
                state.length = min(state.length, kept)
        self._table = store._table_tensor(table)
        self._places = store._token_places(self._table, self._tokens)

    def fork(self) -> "SessionCache":
        """A new session sharing this one's blocks (copy on write of a shared partly filled block), in the same
        state (active or suspended): e.g. several continuations of one prompt."""
        store = self._open()
        if self._failed is not None:
            raise InvalidArgumentError(f"SessionCache: session {self.session_id} is unusable: {self._failed}")
        child = SessionCache(store, _session=store.kv.fork(self.session_id))
        child._tokens = self._tokens
        for mine, theirs in zip(self.layers, child.layers):
            theirs.length = mine.length
        child._suspended = self._suspended
        child._table = self._table
        child._places = self._places
        self._shared = child._shared = True
        return child

    def plan_resume(self, prefill_tokens_per_second: float) -> KvResumePlan:
        """Reload vs recompute for this session now, from the platform's link and the given prefill rate."""
        return self._open().kv.plan_resume(self.session_id, prefill_tokens_per_second)

    def close(self) -> None:
        """Forgets the session (its blocks are freed once no queued kernel reads them)."""
        if self._closed:
            return
        self._closed = True
        store = self._store
        if store._pool is None:
            return
        torch.cuda.current_stream(store.device).synchronize()  # drop frees the blocks at once
        self._places = self._table = None
        store.kv.drop(self.session_id)

    def __repr__(self) -> str:
        state = "closed" if self._closed else ("suspended" if self._suspended else "active")
        return f"<ghtier.torch.SessionCache session={self.session_id} {self._tokens} tokens {state}>"
