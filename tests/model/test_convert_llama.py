"""The Llama family: Llama (GQA, untied), SmolLM-style (tied), Qwen2 (q/k/v biases), Mistral (sliding window)
equal transformers; SentencePiece-style tokens read as text."""
import pytest
import torch

from tests.model.hf_fixtures import (check_family, hub_cache, load_as_user, metaspace_bpe, randomize, same_weights,
                                     save)

transformers = pytest.importorskip("transformers")  # the test extra installs it; never skipped there

COMMON = dict(hidden_size=64, intermediate_size=96, num_hidden_layers=2, num_attention_heads=4,
              max_position_embeddings=64, rms_norm_eps=1e-6, attn_implementation="eager")


def checkpoint(directory, kind: str):
    tok = metaspace_bpe(200, bos_token="<s>", eos_token="</s>", unk_token="<unk>")
    ids = dict(bos_token_id=tok.bos_token_id, eos_token_id=tok.eos_token_id, vocab_size=len(tok))
    if kind == "llama":
        cfg = transformers.LlamaConfig(num_key_value_heads=2, rope_theta=500.0, tie_word_embeddings=False,
                                       **ids, **COMMON)
        model = transformers.LlamaForCausalLM
    elif kind in ("llama3", "linear"):  # scaled rotary frequencies (Llama 3.x; linear position interpolation)
        scaling = {"rope_type": kind, "factor": 8.0, "rope_theta": 500.0}
        if kind == "llama3":  # with head_dim 16 and theta 500, wavelengths span 6 to 1,400: all three regimes
            scaling.update(low_freq_factor=1.0, high_freq_factor=4.0, original_max_position_embeddings=32)
        cfg = transformers.LlamaConfig(num_key_value_heads=2, rope_parameters=scaling, **ids, **COMMON)
        model = transformers.LlamaForCausalLM
    elif kind == "smollm":
        cfg = transformers.LlamaConfig(num_key_value_heads=1, head_dim=8, tie_word_embeddings=True, **ids,
                                       **COMMON)
        model = transformers.LlamaForCausalLM
    elif kind == "qwen2":
        cfg = transformers.Qwen2Config(num_key_value_heads=2, tie_word_embeddings=True, **ids, **COMMON)
        model = transformers.Qwen2ForCausalLM
    else:
        cfg = transformers.MistralConfig(num_key_value_heads=2, sliding_window=4, **ids, **COMMON)
        model = transformers.MistralForCausalLM
    torch.manual_seed(2)
    ref = randomize(model(cfg))
    return save(ref, tok, directory), ref


@pytest.mark.parametrize("kind", ["llama", "llama3", "linear", "smollm", "qwen2", "mistral"])
def test_directory_matches_transformers(tmp_path, monkeypatch, kind):
    path, ref = checkpoint(tmp_path / f"tiny-{kind}", kind)
    loaded = load_as_user(f"hf:{path}", monkeypatch)
    cfg = loaded.cfg
    assert cfg.norm_type == "rms" and cfg.act_fn == "swiglu" and cfg.pos_embed == "rotary"
    assert cfg.attn_bias == (kind == "qwen2") and not cfg.attn_out_bias
    assert cfg.kv_heads == {"smollm": 1}.get(kind, 2)
    assert cfg.rope_scaling == (kind if kind in ("llama3", "linear") else "default")
    inv_freq = loaded.model.stack.rotary.inv_freq
    torch.testing.assert_close(inv_freq, ref.model.rotary_emb.inv_freq, rtol=1e-6, atol=0)
    if kind in ("llama3", "linear"):  # the scaling changed the frequencies (llama3: the first, shortest, kept)
        plain = 1 / 500.0 ** (torch.arange(0, 16, 2) / 16)
        assert (inv_freq < plain * 0.99).sum() >= (4 if kind == "llama3" else 8)
        assert (kind == "linear") != torch.isclose(inv_freq[0], plain[0])
    assert sum(p.numel() for p in loaded.model.parameters()) == ref.num_parameters()
    if kind == "mistral":
        assert cfg.sliding_window == 4
    check_family(loaded, ref)


def test_gqa_shapes_and_hub_id(tmp_path, monkeypatch):
    path, ref = checkpoint(tmp_path / "ckpt", "llama")
    cache = hub_cache(tmp_path / "hub", "tiny-org/tiny-llama", path)
    loaded = load_as_user("hf:tiny-org/tiny-llama", monkeypatch, cache)
    same_weights(loaded, load_as_user(f"hf:{path}", monkeypatch))
    steps = {s["hook"]: s for s in loaded.model.steps()}
    assert steps["blocks.0.attn.hook_k"]["dims"] == ["key_pos", "kv_head", "d_head"]
    assert steps["blocks.0.attn.hook_q"]["dims"] == ["pos", "head", "d_head"]
    assert "blocks.0.attn.hook_rot_k" in steps and "hook_pos_embed" not in steps
    check_family(loaded, ref, texts=["seven small boats", "the fog rolled in"])


def test_sentencepiece_tokens_read_as_text(tmp_path, monkeypatch):
    path, _ = checkpoint(tmp_path / "tok", "llama")
    loaded = load_as_user(f"hf:{path}", monkeypatch)
    tok = loaded.tokenizer
    ids = tok.encode("the harbour wall")
    assert "".join(tok.decode(ids)) == " the harbour wall"  # "▁" is a leading space
    assert tok.detokenize(ids) == "the harbour wall"
    assert loaded.encode("the")[0] == tok.bos_id and tok.decode([tok.bos_id]) == ["<s>"]
    assert tok.decode(tok.encode("é")) [-2:] == ["<0xC3>", "<0xA9>"]  # byte fallback pieces
