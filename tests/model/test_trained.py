"""The shipped checkpoints, checked from their weights: held-out metrics are recomputed here (not read from the
json) and must match what the json records and what the docs claim."""
from __future__ import annotations

import pytest

from model import evaluate, zoo
from model.train import RECIPES, build_corpus

SHIPPED = sorted(RECIPES)
SYNTHETIC = sorted(m for m, r in RECIPES.items() if r.corpus != "english-bpe")  # real English: test_english.py


@pytest.fixture(scope="module", params=SYNTHETIC)
def shipped(request):
    loaded = zoo.load(request.param)
    _, train_sentences = build_corpus(RECIPES[request.param])
    return loaded, evaluate.evaluate(loaded, train_sentences)


def test_every_recipe_is_shipped():
    assert set(SHIPPED) <= set(zoo.available())
    assert zoo.available()[0] == zoo.DEFAULT_MODEL


def test_recomputed_metrics_match_the_record(shipped):
    loaded, metrics = shipped
    # accuracies are counts / n: the same counts give the same float64 fraction. The record was computed with one
    # torch thread (train.py's default) and so is this (XRAY_TORCH_THREADS default); another count could flip a probe
    # whose two choices are within float32 rounding of a tie
    assert metrics == pytest.approx(loaded.meta["metrics"], abs=1e-9)
    assert loaded.meta["training"]["losses"][-1][0] == loaded.meta["training"]["steps"]


def test_shipped_config_matches_its_recipe(shipped):
    loaded, _ = shipped
    assert loaded.cfg == RECIPES[loaded.id].cfg.replace(vocab_size=len(loaded.tokenizer))


def test_tiny_gpt_gets_agreement_and_pronouns_right():
    loaded = zoo.load("tiny-gpt")
    _, train_sentences = build_corpus(RECIPES["tiny-gpt"])
    metrics = evaluate.evaluate(loaded, train_sentences)
    # held-out items with a noun of the other number between subject and verb
    assert metrics["agreement"] >= 0.95
    assert metrics["pronoun"] >= 0.95


def test_tiny_gpt_continues_a_sentence_grammatically():
    loaded = zoo.load("tiny-gpt")
    probs = evaluate.next_token_probs(loaded, [["the", "dogs", "that", "the", "cat", "chases"]])[0]
    tok = loaded.tokenizer
    assert probs[tok.index["run"]] > probs[tok.index["runs"]]


def test_tiny_translator_translates_held_out_sentences():
    loaded = zoo.load("tiny-translator")
    _, train_sentences = build_corpus(RECIPES["tiny-translator"])
    assert evaluate.evaluate(loaded, train_sentences)["exact_match"] >= 0.95
    assert evaluate.greedy_translate(loaded, ["the big red dog sees the small cats ."]) == \
        ["le chien grand rouge voit les chats petit ."]


def test_held_out_items_are_not_training_sentences():
    from model import data
    _, train_sentences = build_corpus(RECIPES["tiny-gpt"])
    unfiltered = data.english_probes(evaluate.ENGLISH_TEST_SEED, 300)
    assert any(p.sentence in train_sentences for p in unfiltered)  # the filter has something to remove
    probes = data.english_probes(evaluate.ENGLISH_TEST_SEED, 300, exclude=train_sentences)
    assert not any(p.sentence in train_sentences for p in probes)
    assert {p.kind for p in probes} == {"agreement", "pronoun"}
