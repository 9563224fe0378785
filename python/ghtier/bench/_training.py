"""A small transformer (``transformers``' Llama, random init) and its training loop, shared by the allocator
benchmark and the GPU tests. Deterministic where PyTorch allows it, so two allocators on one seed can be
compared loss for loss."""

from __future__ import annotations

import time
from typing import Any, Dict, List


def model_config(layers: int = 4, hidden: int = 512, heads: int = 8, vocab: int = 8192, seq: int = 512) -> Any:
    import transformers

    config = transformers.LlamaConfig(vocab_size=vocab, hidden_size=hidden, intermediate_size=hidden * 11 // 4,
                                      num_hidden_layers=layers, num_attention_heads=heads, num_key_value_heads=heads,
                                      max_position_embeddings=seq)
    config._attn_implementation = "eager"  # no nondeterministic fused attention backward
    return config


def make_model(seed: int, **config: Any) -> Any:
    import torch
    import transformers

    torch.manual_seed(seed)
    model = transformers.LlamaForCausalLM(model_config(**config))
    return model.cuda()


def train(model: Any, *, steps: int, batch: int, seq: int, seed: int, checkpointing: bool = False,
          warmup: int = 0) -> Dict[str, List[float]]:
    """Runs warmup + steps AdamW steps on random tokens; returns the losses and the timed steps' seconds."""
    import torch

    if checkpointing:
        model.gradient_checkpointing_enable()
    model.train()
    generator = torch.Generator().manual_seed(seed + 1)
    vocab = model.config.vocab_size
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-3)
    losses: List[float] = []
    times: List[float] = []
    for step in range(warmup + steps):
        tokens = torch.randint(0, vocab, (batch, seq), generator=generator).cuda()
        torch.cuda.synchronize()
        start = time.perf_counter()
        loss = model(input_ids=tokens, labels=tokens).loss
        loss.backward()
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
        value = float(loss.item())  # synchronizes
        if step >= warmup:
            times.append(time.perf_counter() - start)
        losses.append(value)
    return {"losses": losses, "step_seconds": times}


def deterministic() -> None:
    import os

    import torch

    os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
    torch.use_deterministic_algorithms(True, warn_only=True)
    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.allow_tf32 = False
