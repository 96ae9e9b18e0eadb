"""The forward pass as the pages draw it (model/steps.py): every architecture's steps and stages come from the
components' declarations, and what a page relies on holds for each: the stages' `names` globs fetch exactly the
activations of their steps; a step drawn inside another names a step that draws it; position dims run over the
right tokens (cross-attention's keys are the source); GQA keeps n_heads query heads; titles carry the model's
numbers."""
from __future__ import annotations

import pytest
import torch

from model.config import ModelConfig
from model.hooks import name_filter
from model.transformer import build_model, run_with_cache

BASE = ModelConfig(vocab_size=40, d_model=32, n_heads=4, n_layers=2, d_mlp=48, n_ctx=16)
ARCHS = {
    "gpt2": BASE.replace(pos_embed="learned", act_fn="gelu_new", tie_embeddings=True),
    "neox": BASE.replace(pos_embed="rotary", rotary_dim=4, block="parallel", act_fn="gelu"),
    "llama": BASE.replace(pos_embed="rotary", norm_type="rms", act_fn="swiglu", n_kv_heads=2, attn_bias=False,
                          attn_out_bias=False, mlp_bias=False, unembed_bias=False),
    "bert": BASE.replace(arch="encoder", norm="post", self_attn_mask="padding", pos_embed="learned", n_token_types=2,
                         embed_norm=True, lm_head="mlm"),
    "marian": BASE.replace(arch="encoder_decoder", norm="post", pos_embed="sinusoidal_halves", act_fn="silu",
                           embed_scale=32 ** 0.5),
}


def described(cfg):
    torch.manual_seed(0)
    model = build_model(cfg).eval()
    return model, model.steps(), model.stages()


def traced(model, n=5):
    tokens = torch.randint(3, model.cfg.vocab_size, (n,))
    target = torch.randint(3, model.cfg.vocab_size, (n - 1,)) if model.arch == "encoder_decoder" else None
    _, cache = run_with_cache(model, tokens, target)
    return cache


@pytest.mark.parametrize("arch", list(ARCHS))
def test_stage_globs_fetch_exactly_their_steps(arch):
    model, steps, stages = described(ARCHS[arch])
    names = [s["hook"] for s in steps]
    for st in stages:
        wanted = name_filter(st["names"])
        assert [n for n in names if wanted(n)] == [s["hook"] for s in steps if s["stage"] == st["id"]], st
    # stages in forward order, each one contiguous run of steps
    order = [s["stage"] for s in steps]
    runs = [sid for i, sid in enumerate(order) if i == 0 or order[i - 1] != sid]
    assert runs == [st["id"] for st in stages]
    n = model.cfg.n_layers
    stacks = ["encoder", "decoder"] if arch == "marian" else ["blocks"]
    blocks = [f"{stack}.{l}" for stack in stacks for l in range(n)]
    assert [st["id"] for st in stages if st["id"][-1].isdigit()] == blocks
    assert [st["id"] for st in stages if st["reads_tokens"]] == (
        ["encoder.embed", "decoder.embed"] if arch == "marian" else ["embed"])
    assert stages[-1]["id"] == "output" and stages[-1]["names"][-2:] == ["hook_logits", "hook_probs"]


@pytest.mark.parametrize("arch", list(ARCHS))
def test_every_step_is_drawn_and_positions_name_the_right_tokens(arch):
    model, steps, stages = described(ARCHS[arch])
    cache = traced(model)
    by_hook = {s["hook"]: s for s in steps}
    side = {st["id"]: st["side"] for st in stages}
    length = {"source": 5, "target": 4 if arch == "marian" else 5}
    for s in steps:
        assert s["title"] and s["text"].endswith((".", ")")), s
        if s["part_of"]:  # drawn inside another step, which lists it
            assert s["hook"] in by_hook[s["part_of"]]["with"] and not by_hook[s["part_of"]]["part_of"]
        for w in s["with"]:
            assert by_hook[w]["part_of"] == s["hook"]
        # every position dim of the captured tensor has the length of the tokens the step says it runs over
        shape = dict(zip(s["dims"], cache[s["hook"]].shape))
        for dim, tokens in s["positions"].items():
            assert shape[dim] == length[tokens], (s["hook"], dim, tokens)
        cross = ".cross_attn." in s["hook"]
        assert s["positions"].get("key_pos", side[s["stage"]] if not cross else "source") == (
            "source" if cross else side[s["stage"]])
        m = s["hook"].split(".")
        assert s["layer"] == (int(m[1]) if len(m) > 2 and m[1].isdigit() else None)


def test_gqa_keeps_query_heads_and_says_which_kv_head_they_read():
    model, steps, _ = described(ARCHS["llama"])
    cache = traced(model)
    by_hook = {s["hook"]: s for s in steps}
    q, k = by_hook["blocks.1.attn.hook_q"], by_hook["blocks.1.attn.hook_k"]
    assert q["with"] == ["blocks.1.attn.hook_k", "blocks.1.attn.hook_v"] and k["dims"][1] == "kv_head"
    assert cache["blocks.1.attn.hook_pattern"].shape[0] == 4 and cache["blocks.1.attn.hook_k"].shape[1] == 2
    assert q["attention"]["n_heads"] == 4 and q["attention"]["n_kv_heads"] == 2
    assert "each shared by 2 query heads" in q["text"] and "⌊h / 2⌋" in q["text"]
    # the pattern of query head h equals softmax(q_h · k_{h//2} / √d_head) under the causal mask: the rule the
    # text states, checked on the captured tensors
    qs, ks = cache["blocks.1.attn.hook_rot_q"], cache["blocks.1.attn.hook_rot_k"]
    for h in range(4):
        scores = qs[:, h] @ ks[:, h // 2].T / 8 ** 0.5
        scores = scores.masked_fill(torch.ones(5, 5, dtype=torch.bool).triu(1), float("-inf"))
        torch.testing.assert_close(cache["blocks.1.attn.hook_pattern"][h], scores.softmax(-1), rtol=1e-5, atol=1e-6)
    assert by_hook["blocks.0.ln1.hook_normalized"]["title"] == "RMS norm (ln1) before attention: divide by the RMS"
    assert by_hook["blocks.0.ln1.hook_normalized"]["with"] == ["blocks.0.ln1.hook_scale"]  # no mean in RMSNorm
    assert by_hook["blocks.0.mlp.hook_post"]["title"].startswith("Activation (SwiGLU")
    assert "no biases" in q["text"] and "+ b_O" not in by_hook["blocks.0.hook_attn_out"]["title"]


def test_titles_and_texts_carry_the_models_numbers():
    _, steps, stages = described(ARCHS["gpt2"])
    by_hook = {s["hook"]: s for s in steps}
    assert by_hook["blocks.0.attn.hook_scaled"]["title"] == "Divide by √d_head = √8"
    assert "1/√8 = 0.3536" in by_hook["blocks.0.attn.hook_scaled"]["text"]
    assert by_hook["blocks.1.mlp.hook_pre"]["title"] == "FFN up-projection (d_model 32 → d_mlp 48)"
    assert "tanh" in by_hook["blocks.1.mlp.hook_post"]["text"] and "Causal mask" in by_hook["blocks.0.attn.hook_attn_scores"]["text"]
    assert "W_Eᵀ (tied" in by_hook["hook_logits"]["text"] and by_hook["hook_probs"]["title"].endswith("next-token probabilities")
    z = by_hook["blocks.0.attn.hook_z"]
    assert z["views"] == [{"title": "Concatenate the heads", "merge": ["head", "d_head"], "text": z["views"][0]["text"]}]
    assert "[pos, 4·8 = 32]" in z["views"][0]["text"]
    assert [st["title"] for st in stages] == ["Input", "Block 0", "Block 1", "Output"]
    assert by_hook["blocks.1.hook_resid_pre"]["title"] == "Block 1: residual stream in"


def test_parallel_post_ln_and_encoder_decoder_wiring_in_the_titles():
    _, steps, _ = described(ARCHS["neox"])
    titles = {s["hook"]: s["title"] for s in steps}
    assert "blocks.0.hook_resid_mid" not in titles  # a parallel block has no stream between its sublayers
    assert titles["blocks.0.hook_resid_post"] == "Block output: stream + attention + FFN"
    assert "rotary" in [s for s in steps if s["hook"] == "blocks.0.attn.hook_rot_q"][0]["text"]
    _, steps, stages = described(ARCHS["bert"])
    by_hook = {s["hook"]: s for s in steps}
    assert by_hook["blocks.0.attn.hook_attn_scores"]["attention"]["mask"] == "padding"
    assert by_hook["blocks.0.attn.hook_pattern"]["attention"]["label"] == "self-attention (bidirectional)"
    assert stages[0]["names"] == ["hook_embed", "hook_pos_embed", "hook_token_type_embed", "ln_embed.*"]
    assert by_hook["hook_probs"]["title"] == "Softmax → token probabilities"
    _, steps, stages = described(ARCHS["marian"])
    by_hook = {s["hook"]: s for s in steps}
    # post-LN without a final norm: the memory is the last encoder block's output
    assert by_hook["encoder.1.hook_resid_post"]["title"] == "Encoder output (memory)"
    assert "multiplied by 5.657" in by_hook["encoder.hook_embed"]["text"]
    cross = by_hook["decoder.0.cross_attn.hook_pattern"]
    assert cross["attention"]["id"] == "cross" and cross["positions"] == {"query_pos": "target", "key_pos": "source"}
    assert by_hook["decoder.0.attn.hook_pattern"]["attention"] == {
        "id": "decoder", "label": "decoder masked self-attention", "mask": "causal", "window": None, "n_heads": 4,
        "n_kv_heads": 4}
    assert by_hook["encoder.0.attn.hook_pattern"]["attention"]["mask"] == "padding"
    assert [st["id"] for st in stages][:2] == ["encoder.embed", "encoder.0"]
