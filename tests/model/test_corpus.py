"""The real-English corpus is built from the Debian packages (installed by .ci/run), documents stay separate, the
held-out part is never trained on, and the measures of model/english.py agree with hand computations."""
from __future__ import annotations

import math
import random

import numpy as np
import pytest
import torch

from model import corpus, english
from model.tokenizer import EOT


@pytest.fixture(scope="module")
def parts():
    return corpus.load("train"), corpus.load("heldout")


def test_both_sources_are_there_and_held_out_is_disjoint(parts):
    train, held = parts
    assert set(train) == set(held) == {"austen", "wordnet"}
    for name in train:
        assert len(held[name]) >= 10
        assert not set(train[name]) & set(held[name])
        assert abs(len(held[name]) * corpus.HELD_OUT_EVERY - (len(train[name]) + len(held[name]))) \
            <= corpus.HELD_OUT_EVERY
    # the six novels, chapter by chapter (Emma alone has 55 chapters), and tens of thousands of examples
    assert len(train["austen"]) + len(held["austen"]) > 250
    assert len(train["wordnet"]) > 30_000
    assert any(d.startswith("Emma Woodhouse, handsome, clever, and rich") for d in train["austen"])


def test_documents_are_clean_text(parts):
    for docs in parts[0].values():
        for d in docs:
            assert d == d.strip() and d
            assert EOT not in d and "_" not in d


def test_streams_separate_documents_with_end_of_text():
    tok = english.tokenizer()
    docs = ["The garden was quiet.", "Rain fell on the roof."]
    ids = []
    for d in docs:
        ids += [tok.eot_id] + tok.encode(d)
    # the last word of one document never glues to the first word of the next
    assert tok.detokenize(ids, skip_specials=False) == EOT + docs[0] + EOT + docs[1]


def test_windows_label_every_token_once():
    stream = np.arange(1, 12, dtype=np.int32)  # 11 tokens, n_ctx 5: 2 windows, labels 2..11
    w = english.windows(stream, 5)
    assert w.tolist() == [[1, 2, 3, 4, 5, 6], [6, 7, 8, 9, 10, 11]]


def test_repeated_passage_is_a_copy_of_an_earlier_one():
    data = {"a": np.arange(1000, dtype=np.int32)}  # all tokens distinct, so a copy is easy to see
    seq = english.sample_batch(data, random.Random(0), 200, 128, p_repeat=1.0)
    for row in seq.tolist():
        dup = len(row) - len(set(row))
        assert english.REPEAT_MIN <= dup <= english.REPEAT_MAX
    plain = english.sample_batch(data, random.Random(0), 50, 64, p_repeat=0.0)
    assert all(len(set(r)) == len(r) for r in plain.tolist())


def test_bigram_loss_equals_a_hand_computation():
    train = {"s": np.array([0, 1, 2, 1, 2, 1], dtype=np.int32)}
    held = {"s": np.array([0, 1, 2], dtype=np.int32)}
    out = english.bigram_loss(train, held, n_ctx=2, vocab=3, lambdas=(0.5,))
    uni = np.array([1 + 1, 3 + 1, 2 + 1]) / 9  # counts 1, 3, 2 plus one each
    # one window [0, 1, 2]: label 1 (first of the window: unigram), label 2 after 1 (c(1,2)/c(1) = 2/2)
    p1 = uni[1]
    p2 = 0.5 * 1.0 + 0.5 * uni[2]
    assert out["s"]["loss"] == pytest.approx(-(math.log(p1) + math.log(p2)) / 2, abs=1e-4)


def test_heldout_loss_of_a_uniform_model_is_log_vocab():
    from model.config import ModelConfig
    from model.transformer import build_model
    model = build_model(ModelConfig(vocab_size=50, d_model=16, n_heads=2, n_layers=1, d_mlp=32, n_ctx=8)).eval()
    with torch.no_grad():
        model.unembed.W_U.zero_()  # logits all 0 -> every token has probability 1/50
    held = {"x": np.arange(40, dtype=np.int32) % 50}
    assert english.heldout_loss(model, held)["x"] == pytest.approx(math.log(50), abs=1e-4)
