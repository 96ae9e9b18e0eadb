"""The shipped real-English checkpoints, checked from their weights: held-out loss per source and head-probe
scores are recomputed here and must equal what each json records; the default model beats the bigram baseline, has
a previous-token head in layer 0 and an induction head in layer 1, and its timeline shows the induction head
forming; docs/english.md is what model/english_report.py computes from the checkpoints."""
from __future__ import annotations

from pathlib import Path

import pytest

from model import doc_block, english, english_report, probes, timeline, zoo
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


def test_default_model_has_a_previous_token_head_and_an_induction_head():
    record = zoo.load(english_report.MAIN).meta["metrics"]["head_probes"]  # equal to a recomputation, see above
    assert record["previous-token"] >= probes.THRESHOLD
    assert record["induction"] >= probes.THRESHOLD


def test_the_induction_circuit_spans_two_layers():
    """An induction head needs to know, at each key, which token came before it: a previous-token head in an
    EARLIER layer writes that into the stream. Recomputed from the weights: the best previous-token head is in
    layer 0 and the best induction head in layer 1."""
    loaded = zoo.load(english_report.MAIN)
    scores = english_report.head_scores(loaded)
    assert probes.best(scores, "previous-token")[0] == "blocks.0.attn"
    assert probes.best(scores, "induction")[0] == "blocks.1.attn"


def test_the_timeline_shows_the_induction_head_forming():
    """The /attention step slider's snapshots, probed from their weights: no induction head at the first, one at
    the last, and the score recorded in the training curve at every snapshot is the snapshot's own."""
    directory = timeline.timeline_dir(zoo.CHECKPOINT_DIR, english_report.MAIN)
    steps = timeline.list_steps(directory)
    curve = dict((s, c) for s, c in zoo.load(english_report.MAIN).meta["training"]["metrics_curve"])
    best = {}
    for step in (steps[0], steps[len(steps) // 2], steps[-1]):
        snap = zoo.load(timeline.snapshot_id(step), directory)
        best[step] = probes.best(english_report.head_scores(snap), "induction")[2]
        # the curve was measured on the float32 weights during training, the snapshot is stored in float16
        assert best[step] == pytest.approx(curve[step]["induction"], abs=0.01)
    assert best[steps[0]] < probes.THRESHOLD <= best[steps[-1]]


def test_english_gpt_is_the_default_and_everything_is_shipped():
    assert set(ENGLISH) <= set(zoo.available())
    assert zoo.DEFAULT_MODEL == english_report.MAIN


def test_doc_matches_the_checkpoints():
    assert doc_block.read(DOC, english_report.BLOCK) == english_report.markdown()
