"""Marian (encoder-decoder, [sin | cos] positions, embedding scale, final_logits_bias, <pad> as decoder start)
equals transformers' MarianMTModel; its sentencepiece tokenizer (MarianTokenizer) is read through transformers."""
import math

import pytest
import torch

from tests.model.hf_fixtures import (check_translator, hub_cache, load_as_user, marian_tokenizer, randomize,
                                     same_weights, save)

transformers = pytest.importorskip("transformers")  # the test extra installs it; never skipped there
PAIRS = [("the keeper counted boats", "le gardien"),
         ("a heron waited by the harbour wall until the bell rang", "un héron attendait près du mur du port"),
         ("maps", "")]


def checkpoint(directory, share: bool = True, scale: bool = True):
    tok = marian_tokenizer(directory / "spm")
    pad = tok.pad_token_id
    cfg = transformers.MarianConfig(vocab_size=len(tok), decoder_vocab_size=len(tok), d_model=64, encoder_layers=2,
                                    decoder_layers=2, encoder_attention_heads=4, decoder_attention_heads=4,
                                    encoder_ffn_dim=96, decoder_ffn_dim=96, max_position_embeddings=64,
                                    activation_function="swish", scale_embedding=scale, pad_token_id=pad,
                                    decoder_start_token_id=pad, eos_token_id=tok.eos_token_id,
                                    forced_eos_token_id=tok.eos_token_id,
                                    share_encoder_decoder_embeddings=share, attn_implementation="eager")
    torch.manual_seed(4)
    model = randomize(transformers.MarianMTModel(cfg))
    return save(model, tok, directory / "tiny-opus-mt"), model


@pytest.mark.parametrize("share,scale", [(True, True), (False, True)])
def test_directory_matches_transformers(tmp_path, monkeypatch, share, scale):
    path, ref = checkpoint(tmp_path, share, scale)
    loaded = load_as_user(f"hf:{path}", monkeypatch)
    cfg = loaded.cfg
    assert (cfg.arch, cfg.pos_embed, cfg.norm, cfg.act_fn, cfg.share_embeddings) == (
        "encoder_decoder", "sinusoidal_halves", "post", "silu", share)
    assert cfg.embed_scale == (math.sqrt(64) if scale else 1.0)
    assert loaded.decoder_start_id == loaded.tokenizer.pad_id == ref.config.pad_token_id
    assert torch.equal(loaded.model.unembed.b_U, ref.final_logits_bias[0])
    # transformers counts its two fixed position tables as parameters and final_logits_bias as a buffer
    n_hf = ref.num_parameters() - 2 * 64 * 64 + cfg.vocab_size
    assert sum(p.numel() for p in loaded.model.parameters()) == n_hf
    torch.testing.assert_close(loaded.model.pos_embed.W_pos, ref.model.encoder.embed_positions.weight, rtol=0, atol=0)
    check_translator(loaded, ref, PAIRS)


def test_tokens_and_hub_id(tmp_path, monkeypatch):
    path, ref = checkpoint(tmp_path)
    before = load_as_user(f"hf:{path}", monkeypatch)
    cache = hub_cache(tmp_path / "hub", "Helsinki-NLP/tiny-opus-mt", path)
    loaded = load_as_user("hf:Helsinki-NLP/tiny-opus-mt", monkeypatch, cache)
    same_weights(loaded, before)
    tok = loaded.tokenizer
    src = loaded.encode("the keeper counted")
    assert src[-1] == tok.eos_id and tok.decode(src)[-1] == "</s>"
    assert "".join(tok.decode(src[:-1])) == " the keeper counted"  # "▁" shown as a space
    assert tok.detokenize(src) == "the keeper counted"
    assert loaded.encode_target("le")[0] == tok.pad_id  # the decoder starts with <pad>
    check_translator(loaded, ref, PAIRS[:2])
