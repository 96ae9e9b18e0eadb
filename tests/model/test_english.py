"""The shipped real-English checkpoints, checked from their weights: held-out loss per source and head-probe
scores are recomputed here and must equal what each json records; the default model beats the bigram baseline and
has a previous-token head; docs/english.md is what model/english_report.py computes from the checkpoints."""
from __future__ import annotations

from pathlib import Path

import pytest

from model import doc_block, english, english_report, probes, zoo
from model.train import RECIPES

ENGLISH = sorted(m for m, r in RECIPES.items() if r.corpus == "english-bpe")
DOC = Path(__file__).resolve().parents[2] / "docs" / "english.md"


@pytest.fixture(scope="module")
def heldout():
    tok = zoo.load(english_report.MAIN).tokenizer
    return english.streams(tok, "heldout")


@pytest.fixture(scope="module", params=ENGLISH)
def shipped(request, heldout):
    loaded = zoo.load(request.param)
    tok = loaded.tokenizer
    scores = probes.head_scores(loaded.model, len(tok), tok.bos_id, tok.specials)
    return loaded, english.heldout_loss(loaded.model, heldout), {
        b: probes.best(scores, b)[2] for b in probes.BEHAVIOURS}


def test_recomputed_heldout_loss_and_probes_match_the_record(shipped):
    loaded, loss, best = shipped
    record = loaded.meta["metrics"]
    # the record was measured with one torch thread on the weights as shipped (float16-rounded where the recipe
    # saves half precision), as here; it is rounded to 4 decimals
    assert loss == pytest.approx(record["heldout_loss"], abs=1e-4)
    assert best == pytest.approx(record["head_probes"], abs=1e-4)
    assert loaded.cfg == RECIPES[loaded.id].cfg.replace(vocab_size=len(loaded.tokenizer))


def test_default_model_reads_english_better_than_a_bigram():
    metrics = zoo.load(english_report.MAIN).meta["metrics"]
    for source, loss in metrics["heldout_loss"].items():
        assert loss < metrics["bigram_loss"][source]["loss"] - 0.2


def test_default_model_has_a_previous_token_head():
    record = zoo.load(english_report.MAIN).meta["metrics"]["head_probes"]  # equal to a recomputation, see above
    assert record["previous-token"] >= probes.THRESHOLD


def test_english_gpt_is_the_default_and_everything_is_shipped():
    assert set(ENGLISH) <= set(zoo.available())
    assert zoo.DEFAULT_MODEL == english_report.MAIN


def test_doc_matches_the_checkpoints():
    assert doc_block.read(DOC, english_report.BLOCK) == english_report.markdown()
