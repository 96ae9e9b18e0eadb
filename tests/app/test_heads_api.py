"""Heads API: the served scores equal score_heads recomputed here on a model loaded independently from disk,
and the labels follow from the scores and the threshold."""
from __future__ import annotations

import threading

import pytest

from model import zoo
from model.heads import THRESHOLD, score_heads

GPT, TRANSLATOR = "tiny-gpt", "tiny-translator"


@pytest.mark.parametrize("model_id", [GPT, TRANSLATOR])
def test_heads_equal_score_heads_recomputed(client, model_id):
    r = client.get(f"/api/v1/models/{model_id}/heads")
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["model"] == model_id and body["threshold"] == THRESHOLD
    fresh = zoo.load(model_id, client.app.state.settings.checkpoint_dir)
    assert body["heads"] == score_heads(fresh)
    cfg = fresh.cfg
    n_modules = cfg.n_layers * (3 if fresh.is_encoder_decoder else 1)  # encoder, decoder self, decoder cross
    assert len(body["heads"]) == n_modules * cfg.n_heads
    for h in body["heads"]:
        assert h["labels"] == sorted((b for b, s in h["scores"].items() if s >= THRESHOLD), key=lambda b: -h["scores"][b])
        assert all(0.0 <= s <= 1.0 for s in h["scores"].values())
        assert h["name"].split(".")[1] == str(h["layer"]) and 0 <= h["head"] < cfg.n_heads


def test_trained_gpt_has_a_labelled_head(client):
    """A sanity check that the probes see structure in the trained model (an untrained one would not)."""
    heads = client.get(f"/api/v1/models/{GPT}/heads").json()["heads"]
    assert any(h["labels"] for h in heads)


def test_translator_cross_attention_scored_for_alignment(client):
    heads = client.get(f"/api/v1/models/{TRANSLATOR}/heads").json()["heads"]
    cross = [h for h in heads if ".cross_attn" in h["name"]]
    assert cross and all(set(h["scores"]) == {"alignment"} for h in cross)


def test_computed_once_and_cached(client):
    client.app.state.head_scores = {}
    import model.heads as mh
    from app.routers import heads as route
    calls = []
    real = route.score_heads
    route.score_heads = lambda m: (calls.append(m.id), real(m))[1]
    try:
        results = []
        threads = [threading.Thread(target=lambda: results.append(client.get(f"/api/v1/models/{GPT}/heads").json()))
                   for _ in range(4)]
        for t in threads: t.start()
        for t in threads: t.join()
        results.append(client.get(f"/api/v1/models/{GPT}/heads").json())
    finally:
        route.score_heads = real
    assert calls == [GPT] and all(r == results[0] for r in results)
    assert mh.score_heads is real


@pytest.mark.parametrize("model_id", ["nope", "tiny-gpt.json", "step-00000"])
def test_unknown_model_is_404(client, error_of, model_id):
    assert error_of(client.get(f"/api/v1/models/{model_id}/heads"), 404)["code"] == "unknown_model"
