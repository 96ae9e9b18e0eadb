"""BERT (encoder-only, post-LN, token types, the MLM head) equals transformers' BertForMaskedLM; WordPiece
pieces read as text, from tokenizer.json and from a bare vocab.txt (transformers' tokenizer)."""
import pytest
import torch

from tests.model.hf_fixtures import (check_family, hub_cache, load_as_user, randomize, same_weights, save,
                                     wordpiece)

transformers = pytest.importorskip("transformers")  # the test extra installs it; never skipped there


def checkpoint(directory, tie: bool = True):
    tok = wordpiece(200)
    cfg = transformers.BertConfig(vocab_size=len(tok), hidden_size=64, num_hidden_layers=2, num_attention_heads=4,
                                  intermediate_size=128, max_position_embeddings=64, type_vocab_size=2,
                                  pad_token_id=tok.pad_token_id, tie_word_embeddings=tie,
                                  attn_implementation="eager")
    torch.manual_seed(3)
    model = randomize(transformers.BertForMaskedLM(cfg))
    return save(model, tok, directory), model


@pytest.mark.parametrize("tie", [True, False])
def test_directory_matches_transformers(tmp_path, monkeypatch, tie):
    path, ref = checkpoint(tmp_path / "tiny-bert", tie)
    loaded = load_as_user(f"hf:{path}", monkeypatch)
    cfg = loaded.cfg
    assert (cfg.arch, cfg.norm, cfg.n_token_types, cfg.lm_head, cfg.tie_embeddings) == (
        "encoder", "post", 2, "mlm", tie)
    unused = 0 if tie else cfg.vocab_size  # untied, transformers keeps cls.predictions.bias beside decoder.bias,
    # whose bias is the one it adds
    assert sum(p.numel() for p in loaded.model.parameters()) == ref.num_parameters() - unused
    check_family(loaded, ref, token_types=True)
    check_family(loaded, ref)


def test_mask_token_and_wordpiece_display(tmp_path, monkeypatch):
    path, ref = checkpoint(tmp_path / "tok")
    loaded = load_as_user(f"hf:{path}", monkeypatch)
    tok = loaded.tokenizer
    ids = loaded.encode("The harbour [MASK] lit up")
    assert ids[0] == tok.bos_id == ref.config.pad_token_id + 2  # [CLS] ([PAD], [UNK] come first)
    assert ids[-1] == tok.eos_id and tok.decode([ids[-1]]) == ["[SEP]"]
    assert tok.mask_id in ids  # a typed [MASK] is the mask token
    pieces = tok.decode(tok.encode("harbours"))
    assert "".join(pieces) == " harbours" and len(pieces) > 1  # " harbour" + "s": the "##" is dropped
    assert tok.detokenize(ids) == "the harbour lit up"


def test_vocab_txt_only_and_hub_id(tmp_path, monkeypatch):
    """A checkpoint with BERT's vocab.txt but no tokenizer.json (as old hub repos are) reads its tokenizer
    through transformers; legacy gamma/beta names load; the hub id resolves from the cache."""
    path, ref = checkpoint(tmp_path / "ckpt")
    before = load_as_user(f"hf:{path}", monkeypatch)
    vocab = [t for t, _ in sorted(transformers.AutoTokenizer.from_pretrained(path).get_vocab().items(),
                                  key=lambda kv: kv[1])]
    (path / "tokenizer.json").unlink()
    (path / "tokenizer_config.json").write_text('{"tokenizer_class": "BertTokenizer", "do_lower_case": true}')
    (path / "vocab.txt").write_text("\n".join(vocab) + "\n")
    from safetensors.torch import load_file, save_file
    sd = load_file(str(path / "model.safetensors"))
    save_file({k.replace("LayerNorm.weight", "LayerNorm.gamma").replace("LayerNorm.bias", "LayerNorm.beta"): v
               for k, v in sd.items()}, str(path / "model.safetensors"), metadata={"format": "pt"})
    cache = hub_cache(tmp_path / "hub", "google-bert/tiny-bert", path)
    loaded = load_as_user("hf:google-bert/tiny-bert", monkeypatch, cache)
    assert loaded.tokenizer.decode(loaded.encode("harbours"))[0] == "[CLS]"
    assert loaded.tokenizer.mask_id is not None
    assert loaded.tokenizer.vocab == before.tokenizer.vocab
    same_weights(loaded, before)
    check_family(loaded, ref, texts=["the harbour wall", "seven boats waited by the harbour wall"])
