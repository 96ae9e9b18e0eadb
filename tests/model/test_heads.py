"""Head labels are computed from attention patterns, so they are checked against a head whose pattern is known
by hand (uniform attention), and the shipped models must show the behaviours their corpora were built for."""
from __future__ import annotations

import pytest
import torch

from model import heads, probes, zoo
from model.data import english_vocab
from model.tokenizer import WordTokenizer
from model.train import GPT_BASE
from model.transformer import build_model
from tests.head_reference import reference_head_scores


@pytest.fixture(scope="module")
def scored():
    return {m: reference_head_scores(m) for m in ("tiny-gpt", "tiny-translator")}


def test_uniform_attention_scores_equal_the_hand_computation():
    tok = WordTokenizer(english_vocab())
    model = build_model(GPT_BASE.replace(vocab_size=len(tok), n_layers=1)).eval()
    with torch.no_grad():
        model.stack.blocks[0].attn.W_K.zero_()  # all scores 0 -> every visible key gets 1 / (q + 1)
        model.stack.blocks[0].attn.b_K.zero_()
    loaded = zoo.LoadedModel("uniform", model, tok)
    out = heads.score_heads(loaded)
    assert len(out) == GPT_BASE.n_heads
    # generic probes: <bos> + L random tokens + the same L again; query q (1..2L) gives 1/(q+1) to each key
    L = probes.PROBE_LEN
    every_query = sum(1 / (q + 1) for q in range(1, 2 * L + 1)) / (2 * L)
    second_copy = sum(1 / (q + 1) for q in range(L + 1, 2 * L + 1)) / L
    expected = {"previous-token": every_query, "first-token": every_query,
                "duplicate-token": second_copy, "induction": second_copy}
    for h in out:
        for behaviour, value in expected.items():
            assert h["scores"][behaviour] == pytest.approx(value, abs=5e-5)  # scores are rounded to 4 decimals
        assert h["labels"] == []


def test_scores_are_attention_weights(scored):
    for model_heads in scored.values():
        for h in model_heads:
            assert all(0.0 <= s <= 1.0 for s in h["scores"].values())
            assert h["labels"] == sorted(h["labels"], key=lambda b: -h["scores"][b])


def test_tiny_gpt_has_a_subject_head_and_a_pronoun_head(scored):
    labels = {b for h in scored["tiny-gpt"] for b in h["labels"]}
    assert {"subject-verb", "pronoun-antecedent"} <= labels


def test_tiny_translator_cross_attention_aligns_words(scored):
    cross = [h for h in scored["tiny-translator"] if ".cross_attn" in h["name"]]
    assert len(cross) == 2 * 4
    assert max(h["scores"]["alignment"] for h in cross) >= 0.6
