"""GPT-2 loaded from a save_pretrained directory and from a hub cache equals transformers' GPT2LMHeadModel."""
import pytest
import torch

from tests.model.hf_fixtures import (byte_bpe, check_family, hub_cache, load_as_user, randomize, same_weights,
                                     save)

transformers = pytest.importorskip("transformers")  # the test extra installs it; never skipped there


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory):
    tok = byte_bpe(300, bos_token="<|endoftext|>", eos_token="<|endoftext|>")
    cfg = transformers.GPT2Config(n_layer=2, n_embd=64, n_head=4, vocab_size=len(tok), n_positions=32,
                                  bos_token_id=0, eos_token_id=0, attn_implementation="eager")
    torch.manual_seed(0)
    model = randomize(transformers.GPT2LMHeadModel(cfg))
    return save(model, tok, tmp_path_factory.mktemp("ckpt") / "tiny-gpt2"), model


def test_directory_matches_transformers(checkpoint, monkeypatch):
    path, ref = checkpoint
    loaded = load_as_user(f"hf:{path}", monkeypatch)
    assert loaded.id == "tiny-gpt2" and loaded.meta["source"]["directory"] == str(path)
    assert loaded.cfg.tie_embeddings and not loaded.cfg.unembed_bias and loaded.cfg.act_fn == "gelu_new"
    assert sum(p.numel() for p in loaded.model.parameters()) == ref.num_parameters()
    check_family(loaded, ref)
    check_family(loaded, ref, left_pad=True)


def test_hub_id_from_the_cache(checkpoint, monkeypatch, tmp_path):
    path, ref = checkpoint
    cache = hub_cache(tmp_path / "hub", "tiny-org/tiny-gpt2", path)
    loaded = load_as_user("hf:tiny-org/tiny-gpt2", monkeypatch, cache)
    assert loaded.id == "tiny-org/tiny-gpt2" and loaded.meta["source"]["hub_id"] == "tiny-org/tiny-gpt2"
    same_weights(loaded, load_as_user(f"hf:{path}", monkeypatch))
    check_family(loaded, ref, texts=["seven boats", "a heron stood still in the river"])


def test_tokens_read_as_the_text(checkpoint, monkeypatch):
    path, _ = checkpoint
    loaded = load_as_user(f"hf:{path}", monkeypatch)
    text = "the harbour wall, by the river"
    ids = loaded.tokenizer.encode(text)
    shown = loaded.tokenizer.decode(ids)
    assert "".join(shown) == text and " the" in shown  # "Ġthe" shown with a space
    accents = loaded.tokenizer.encode("café")  # é is two bytes the tiny vocabulary never merged: <0xHH> each
    assert loaded.tokenizer.decode(accents)[-2:] == ["<0xC3>", "<0xA9>"]
    assert loaded.tokenizer.detokenize(ids) == text and loaded.tokenizer.detokenize(accents) == "café"
    assert loaded.encode("the")[0] == loaded.tokenizer.bos_id == 0  # <|endoftext|> opens the text
    assert len(loaded.tokenizer.vocab) == loaded.cfg.vocab_size
