"""GPT-NeoX / Pythia (partial rotary, fused per-head qkv, parallel or sequential residual) equals transformers."""
import pytest
import torch

from tests.model.hf_fixtures import byte_bpe, check_family, hub_cache, load_as_user, randomize, same_weights, save

transformers = pytest.importorskip("transformers")  # the test extra installs it; never skipped there


def checkpoint(directory, parallel: bool, bias: bool = True):
    tok = byte_bpe(300, bos_token="<|endoftext|>", eos_token="<|endoftext|>")
    cfg = transformers.GPTNeoXConfig(hidden_size=64, num_attention_heads=4, num_hidden_layers=2,
                                     intermediate_size=128, vocab_size=len(tok) + 20, max_position_embeddings=64,
                                     rotary_pct=0.25, rotary_emb_base=1000, use_parallel_residual=parallel,
                                     attention_bias=bias, bos_token_id=0, eos_token_id=0,
                                     attn_implementation="eager")
    torch.manual_seed(1)
    model = randomize(transformers.GPTNeoXForCausalLM(cfg))
    return save(model, tok, directory), model


@pytest.mark.parametrize("parallel,bias", [(True, True), (False, False)])
def test_directory_matches_transformers(tmp_path, monkeypatch, parallel, bias):
    path, ref = checkpoint(tmp_path / "tiny-pythia", parallel, bias)
    loaded = load_as_user(f"hf:{path}", monkeypatch)
    cfg = loaded.cfg
    assert (cfg.block, cfg.pos_embed, cfg.rotary_dim, cfg.rotary_base) == (
        "parallel" if parallel else "sequential", "rotary", 4, 1000.0)
    assert sum(p.numel() for p in loaded.model.parameters()) == ref.num_parameters()
    assert len(loaded.tokenizer.vocab) == cfg.vocab_size  # the embedding has 20 rows no token uses
    assert loaded.tokenizer.vocab[-1] == f"<unused {cfg.vocab_size - 1}>"
    check_family(loaded, ref)


def test_hub_id_from_the_cache(tmp_path, monkeypatch):
    path, ref = checkpoint(tmp_path / "ckpt", parallel=True)
    cache = hub_cache(tmp_path / "hub", "EleutherAI/tiny-pythia", path)
    loaded = load_as_user("hf:EleutherAI/tiny-pythia", monkeypatch, cache)
    assert loaded.id == "EleutherAI/tiny-pythia"
    same_weights(loaded, load_as_user(f"hf:{path}", monkeypatch))
    check_family(loaded, ref, texts=["maps and hills", "the bell rang twice"])
