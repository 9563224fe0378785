"""CPU micro-benchmark of stream_weights' per-layer Python cost (not a test: run by hand, needs PyTorch).

Layers of Llama's parameter count (9 tensors: 7 projections, 2 norms; small shapes) whose forward does nothing
but return its input, wrapped by WeightStreamingHandle over a fake streamer whose acquire returns pointers into
CPU memory without copying: "resident" (the same pointers every time: the case where the wrapper's own work is
all that is paid) and "streamed" (two alternating ring slots: the views are rebound at every call).
torch.cuda.current_stream / is_current_stream_capturing are replaced by cheap fakes (no GPU here), so the
numbers leave out their cost on a GPU machine. Prints microseconds per layer call, wrapped and unwrapped, for
inference (no_grad) and for a pass with autograd on (LoRA-like; the saved-tensor hooks run).

    PYTHONPATH=python python python/tests/perf/weight_hooks_cpu.py [--layers 8] [--passes 2000]
"""

from __future__ import annotations

import argparse
import threading
import time
import types

import torch
from torch import nn

from ghtier import _dlpack
from ghtier._streamed_layers import host_layout
from ghtier.torch import weight_streaming as ws


class Block(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        for name in ("q", "k", "v", "o", "gate", "up", "down"):
            setattr(self, name, nn.Linear(8, 8, bias=False))
        self.norm1 = nn.LayerNorm(8, bias=False)
        self.norm2 = nn.LayerNorm(8, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x


class Model(nn.Module):
    def __init__(self, depth: int) -> None:
        super().__init__()
        self.layers = nn.ModuleList(Block() for _ in range(depth))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for layer in self.layers:
            x = layer(x)
        return x


class FakeStreamer:
    """resident: every layer in its own block, the same pointers at every acquire (copied in once).
    streamed: two ring slots, layer i in slot i % 2 (no bytes copied: the wrapper's cost only)."""

    def __init__(self, entries, layout, placement: str) -> None:
        self.placement = placement
        self.memory = torch.zeros(layout.total_bytes, dtype=torch.uint8)
        self.pointers = []
        slot = max(layout.layer_bytes)
        for i, (entries_, offsets) in enumerate(zip(entries, layout.offsets)):
            for e, off in zip(entries_, offsets):
                self.memory[off:off + e.nbytes] = e.host.reshape(-1).view(torch.uint8)
            base = offsets[0] if placement == "resident" else offsets[0] - (i % 2) * slot
            self.pointers.append([self.memory.data_ptr() + off - offsets[0] + base for off in offsets])
        self.count = [0] * len(entries)

    def acquire(self, layer, stream):
        self.count[layer] += 1
        return list(self.pointers[layer])

    def release(self, layer, stream):
        self.count[layer] -= 1

    def set_order(self, order):
        pass

    def plan(self):
        return types.SimpleNamespace(placements=[self.placement] * len(self.count))


def wrap(model: Model, placement: str) -> "ws.WeightStreamingHandle":
    torch.cuda.current_stream = lambda *a, **k: types.SimpleNamespace(cuda_stream=0)
    torch.cuda.is_current_stream_capturing = lambda: False
    _dlpack.KDL_CUDA = _dlpack.KDL_CPU
    handle = ws.WeightStreamingHandle.__new__(ws.WeightStreamingHandle)
    handle.model, handle.layers, handle.device = model, list(model.layers), torch.device("cpu")
    handle._lookahead, handle._lock, handle._closed = None, threading.RLock(), False
    handle._runtime = types.SimpleNamespace(device=0)
    handle._entries = []
    for layer in handle.layers:
        entries = [ws._Streamed(t, n) for n, t in list(layer.named_parameters()) + list(layer.named_buffers())]
        for e in entries:
            e.host = e.tensor.data.clone()
            e.tensor.data = e.host
        handle._entries.append(entries)
    handle._layout = host_layout([[e.nbytes for e in entries] for entries in handle._entries])
    handle._streamer = FakeStreamer(handle._entries, handle._layout, placement)
    handle._install()
    return handle


def per_layer_us(model: Model, passes: int, grad: bool) -> float:
    x = torch.zeros(1, 8, requires_grad=grad)
    best = float("inf")
    for _ in range(5):
        start = time.perf_counter()
        for _ in range(passes):
            if grad:
                model(x)
            else:
                with torch.no_grad():
                    model(x)
        best = min(best, time.perf_counter() - start)
    return best / passes / len(model.layers) * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--layers", type=int, default=8)
    parser.add_argument("--passes", type=int, default=2000)
    args = parser.parse_args()
    torch.set_grad_enabled(True)
    plain = Model(args.layers).requires_grad_(False)
    for placement in ("resident", "streamed"):
        wrapped = Model(args.layers).requires_grad_(False)
        wrap(wrapped, placement)
        for grad in (False, True):
            base = per_layer_us(plain, args.passes, grad)
            hooked = per_layer_us(wrapped, args.passes, grad)
            what = "autograd on" if grad else "no_grad"
            print(f"{placement:<8} {what:<11}: unwrapped {base:6.2f} us/layer, wrapped {hooked:6.2f} us/layer, "
                  f"wrapper cost {hooked - base:6.2f} us/layer")


if __name__ == "__main__":
    main()
