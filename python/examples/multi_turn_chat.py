"""A multi-turn chat whose KV cache leaves the GPU between turns.

A random-init Llama (transformers) answers three turns greedily through ``ghtier.torch.SessionCache``: after each
turn the conversation's cache is suspended to the host tier (its device blocks are freed), and before the next
turn it is resumed in one batched copy instead of recomputing the conversation. Run from the repository root:

    GHTIER_LIBRARY=build/src/libghtier.so PYTHONPATH=python python3 python/examples/multi_turn_chat.py
"""

import sys

try:
    import torch
    import transformers
except ImportError as e:
    print(f"multi_turn_chat needs PyTorch and transformers ({e})", file=sys.stderr)
    sys.exit(2)

import ghtier.torch as gt

VOCAB = 1000
NEW_TOKENS = 12


def main() -> int:
    config = transformers.LlamaConfig(vocab_size=VOCAB, hidden_size=256, intermediate_size=688, num_hidden_layers=4,
                                      num_attention_heads=8, num_key_value_heads=2, bos_token_id=None,
                                      eos_token_id=None, pad_token_id=0)
    torch.manual_seed(0)
    model = transformers.LlamaForCausalLM(config).to("cuda", torch.bfloat16).eval()
    prompts = torch.Generator().manual_seed(1)

    with gt.SessionStore(model, device_blocks=64, host_blocks=256) as store:
        cache = store.session()  # one conversation
        conversation = torch.empty((1, 0), dtype=torch.long, device="cuda")
        for turn in range(3):
            user = torch.randint(3, VOCAB, (1, 20 + 10 * turn), generator=prompts).cuda()
            conversation = torch.cat([conversation, user], dim=1)
            if cache.suspended:
                cache.resume()  # one batched copy back; the current stream waits for it, the host does not
            conversation = model.generate(conversation, attention_mask=torch.ones_like(conversation),
                                          past_key_values=cache, max_new_tokens=NEW_TOKENS, do_sample=False)
            answer = conversation[0, -NEW_TOKENS:].tolist()
            cache.suspend()  # to the host tier until the user writes again
            host = store.statistics()["host_bytes"]
            print(f"turn {turn}: answer {answer}; {cache.get_seq_length()} tokens cached, suspended "
                  f"({host} bytes in the host tier)")
        cache.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
