"""Generate a ~135M-parameter llama-layout decoder in f16 for the spectral benchmark
(SmolLM2-135M shapes: 30 layers, hidden 576, intermediate 1536, 9 heads, 3 KV heads,
vocab 49152, tied embeddings). Weights are Gaussian noise plus a rank-32 signal with
power-law singular values, so the ESDs have heavy tails like trained weights.

Usage: python make_llama135m.py OUT_DIR [SEED]   (writes OUT_DIR/model.safetensors, ~270 MB)"""
import sys, os
import numpy as np
from safetensors.numpy import save_file

H, I, L, HEADS, KV, V = 576, 1536, 30, 9, 3, 49152
HEAD = H // HEADS

def weight(rng, rows, cols, scale=0.02, rank=32):
    w = rng.standard_normal((rows, cols), dtype=np.float32) * scale
    u = rng.standard_normal((rows, rank), dtype=np.float32)
    v = rng.standard_normal((rank, cols), dtype=np.float32)
    c = (np.arange(1, rank + 1, dtype=np.float32) ** -0.8) * (scale * 4.0 / np.sqrt(max(rows, cols)))
    w += (u * c) @ v
    return w.astype(np.float16)

def main(out, seed=0):
    rng = np.random.default_rng(int(seed))
    t = {"model.embed_tokens.weight": weight(rng, V, H)}
    for l in range(L):
        p = f"model.layers.{l}."
        t[p + "self_attn.q_proj.weight"] = weight(rng, HEADS * HEAD, H)
        t[p + "self_attn.k_proj.weight"] = weight(rng, KV * HEAD, H)
        t[p + "self_attn.v_proj.weight"] = weight(rng, KV * HEAD, H)
        t[p + "self_attn.o_proj.weight"] = weight(rng, H, HEADS * HEAD)
        t[p + "mlp.gate_proj.weight"] = weight(rng, I, H)
        t[p + "mlp.up_proj.weight"] = weight(rng, I, H)
        t[p + "mlp.down_proj.weight"] = weight(rng, H, I)
        t[p + "input_layernorm.weight"] = np.ones(H, dtype=np.float16)
        t[p + "post_attention_layernorm.weight"] = np.ones(H, dtype=np.float16)
    t["model.norm.weight"] = np.ones(H, dtype=np.float16)
    os.makedirs(out, exist_ok=True)
    save_file(t, os.path.join(out, "model.safetensors"))
    n = sum(a.size for a in t.values())
    print(f"{n / 1e6:.1f}M parameters -> {out}/model.safetensors", file=sys.stderr)

if __name__ == "__main__":
    main(*sys.argv[1:])
