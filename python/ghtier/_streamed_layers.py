"""The decisions behind ``ghtier.torch.stream_weights`` that need no PyTorch (so CI tests them without it):
which list of blocks are the decoder layers, where each tensor sits in the one pinned host arena, and how
many device bytes a budget given as a fraction of the weights means."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Hashable, List, Optional, Sequence, Tuple, Union

from .errors import InvalidArgumentError, UnsupportedError

#: Host (and device: the streamer uses the same) alignment of each tensor: whole cache lines and DMA bursts.
TENSOR_ALIGNMENT = 256
#: Ring slots a fractional budget adds to the resident share: one computes while the next one's copy runs.
DEFAULT_RING_SLOTS = 2


def align_up(nbytes: int, alignment: int = TENSOR_ALIGNMENT) -> int:
    return (nbytes + alignment - 1) // alignment * alignment


@dataclass(frozen=True)
class LayerCandidate:
    """One list of blocks in a model: its dotted path, one signature per member (class and parameter shapes:
    equal signatures mean identical blocks) and its parameter count."""

    path: str
    signatures: Tuple[Hashable, ...]
    parameters: int


def choose_layer_list(candidates: Sequence[LayerCandidate], preferred_path: str = "model.layers") -> int:
    """The index of the decoder layers among `candidates`: the one at `preferred_path` (transformers' decoder
    models) when its blocks are identical, else the longest list of identical blocks (ties: more parameters,
    then the first). Raises UnsupportedError when no list has two or more identical blocks."""
    usable = [i for i, c in enumerate(candidates) if len(c.signatures) >= 2 and len(set(c.signatures)) == 1]
    for i in usable:
        if candidates[i].path == preferred_path:
            return i
    if not usable:
        raise UnsupportedError("stream_weights: no decoder layers found (no model.model.layers and no nn.ModuleList "
                               "of two or more identical blocks); pass layers=[...] (the modules to stream)")
    return max(usable, key=lambda i: (len(candidates[i].signatures), candidates[i].parameters, -i))


@dataclass(frozen=True)
class HostLayout:
    """Where each tensor of each layer sits in the host arena (byte offsets) and the arena's exact size."""

    offsets: List[List[int]]
    layer_bytes: List[int]  # per layer, with the alignment: what one device slot for it needs
    total_bytes: int


def host_layout(tensor_bytes: Sequence[Sequence[int]], alignment: int = TENSOR_ALIGNMENT) -> HostLayout:
    """Packs the tensors, layer after layer, each at an `alignment` boundary. Raises InvalidArgumentError for a
    layer without tensors or a tensor of no bytes (the streamer copies whole tensors)."""
    if not tensor_bytes:
        raise InvalidArgumentError("stream_weights: no layers to stream")
    offsets: List[List[int]] = []
    layer_bytes: List[int] = []
    total = 0
    for i, layer in enumerate(tensor_bytes):
        if not layer:
            raise InvalidArgumentError(f"stream_weights: layer {i} has no parameters or buffers to stream")
        start = total
        placed = []
        for t, nbytes in enumerate(layer):
            if isinstance(nbytes, bool) or not isinstance(nbytes, int) or nbytes <= 0:
                raise InvalidArgumentError(f"stream_weights: layer {i} tensor {t} has {nbytes!r} bytes")
            placed.append(total)
            total += align_up(nbytes, alignment)
        offsets.append(placed)
        layer_bytes.append(total - start)
    return HostLayout(offsets, layer_bytes, total)


BudgetLike = Union[int, float]


def budget_bytes(device_budget: BudgetLike, layer_bytes: Sequence[int], ring_slots: Optional[int] = None) -> int:
    """Device bytes for the streamer. An int is bytes, as given (the streamer refuses one below its minimum,
    naming it). A float in [0, 1] is the share of the layers' weights to keep resident, plus `ring_slots`
    (default DEFAULT_RING_SLOTS) slots of the largest layer for the streamed rest: 0.0 streams every layer
    through the ring, 1.0 keeps every layer resident."""
    if isinstance(device_budget, bool) or not isinstance(device_budget, (int, float)):
        raise InvalidArgumentError(f"device_budget is {device_budget!r}: bytes (int) or a fraction of the weights "
                                   "(float in [0, 1])")
    if isinstance(device_budget, int):
        if device_budget < 0:
            raise InvalidArgumentError(f"device_budget is {device_budget}: bytes >= 0")
        return device_budget
    if not 0.0 <= device_budget <= 1.0:
        raise InvalidArgumentError(f"device_budget is {device_budget}: a fraction of the weights lies in [0, 1]")
    slots = DEFAULT_RING_SLOTS if ring_slots is None else ring_slots
    if isinstance(slots, bool) or not isinstance(slots, int) or slots < 1:
        raise InvalidArgumentError(f"lookahead is {ring_slots!r}: at least 1 ring slot")
    return int(sum(layer_bytes) * device_budget) + slots * max(layer_bytes)
