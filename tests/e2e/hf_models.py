"""Hugging Face checkpoints for the e2e tests, built here at random and saved with `save_pretrained` (nothing is
downloaded), as a user would point XRAY_MODELS at them: a GPT-2-shaped model at real depth and width of heads (12
layers x 12 heads, d_model 48, a byte-level BPE of a few hundred tokens trained here), a Llama with grouped-query
attention (4 query heads, 2 key/value heads, SentencePiece-style pieces), a Pythia-style GPT-NeoX (parallel blocks,
partial rotary), a BERT (post-LN encoder, token types, WordPiece, the MLM head) and a Marian translator
(encoder-decoder, SentencePiece unigram vocabulary), each as the converter tests build them. The weights are drawn large (hf_fixtures.randomize), so patterns are sharp."""
from __future__ import annotations

from pathlib import Path

import torch

from tests.model import test_convert_bert, test_convert_llama, test_convert_marian, test_convert_neox
from tests.model.hf_fixtures import byte_bpe, randomize, save

GPT2_SHAPE = dict(n_layer=12, n_head=12, n_embd=48, n_positions=256)


def gpt2_12x12(directory: Path) -> Path:
    import transformers
    tok = byte_bpe(300, bos_token="<|endoftext|>", eos_token="<|endoftext|>")
    cfg = transformers.GPT2Config(vocab_size=len(tok), bos_token_id=0, eos_token_id=0, attn_implementation="eager",
                                  **GPT2_SHAPE)
    torch.manual_seed(3)
    return save(randomize(transformers.GPT2LMHeadModel(cfg)), tok, directory)


def build(root: Path) -> tuple[dict[str, str], list[str]]:
    """({role: API id}, XRAY_MODELS specs); the API id of a directory is its name."""
    gpt2 = gpt2_12x12(root / "gpt2-12x12")
    llama, _ = test_convert_llama.checkpoint(root / "tiny-llama-gqa", "llama")
    neox, _ = test_convert_neox.checkpoint(root / "tiny-pythia", parallel=True)
    bert, _ = test_convert_bert.checkpoint(root / "tiny-bert")
    marian, _ = test_convert_marian.checkpoint(root / "marian")
    paths = {"gpt2": gpt2, "llama": llama, "neox": neox, "bert": bert, "marian": marian}
    return {role: p.name for role, p in paths.items()}, [f"hf:{p}" for p in paths.values()]
