"""The parameter count read from our modules equals transformers' own modules for the published shapes (built
on the meta device: no memory, no download)."""
import pytest
import torch

from model.param_count import PRESETS, count

transformers = pytest.importorskip("transformers")  # the test extra installs it; never skipped there


def hf_numel(model_cls, cfg) -> int:
    with torch.device("meta"):
        return model_cls(cfg).num_parameters()


def test_gpt2_small_is_exact():
    assert count(PRESETS["gpt2-small"]["config"])["total"] == hf_numel(transformers.GPT2LMHeadModel,
                                                                        transformers.GPT2Config())
    assert PRESETS["gpt2-small"]["published"] == 124_439_808


def test_bert_base_masked_lm():
    hf = hf_numel(transformers.BertForMaskedLM, transformers.BertConfig())
    ours = count(PRESETS["bert-base"]["config"])
    assert ours["total"] == hf  # tied decoder, its bias = b_U, no pooler
    assert ours["breakdown"]["layer_norms"] == (2 * 12 + 2) * 2 * 768  # 2 per block, embeddings', MLM head's


def test_gqa_llama_shape():
    cfg = transformers.LlamaConfig(hidden_size=2048, intermediate_size=8192, num_hidden_layers=16,
                                   num_attention_heads=32, num_key_value_heads=8, vocab_size=128256,
                                   tie_word_embeddings=True)
    from model.convert import llama
    ours = count(llama.config(cfg))
    assert ours["total"] == hf_numel(transformers.LlamaForCausalLM, cfg)
    assert ours["breakdown"]["attention"] == 16 * (2 * 2048 * 2048 + 2 * 2048 * 512)  # K, V have 8 of 32 heads
