"""Heads API: the served scores equal score_heads recomputed on a model loaded independently from disk, the
labels follow from the scores and the threshold, and each model's scores are computed once per app, on demand."""
from __future__ import annotations

import threading
import time

import pytest

import model.heads
from app.once import Once
from model.heads import THRESHOLD
from tests.head_reference import reference_head_scores

GPT, TRANSLATOR = "tiny-gpt", "tiny-translator"


@pytest.mark.parametrize("model_id", [GPT, TRANSLATOR])
def test_heads_equal_score_heads_recomputed(client, loaded, model_id):
    r = client.get(f"/api/v1/models/{model_id}/heads")
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["model"] == model_id and body["threshold"] == THRESHOLD
    assert body["heads"] == reference_head_scores(model_id, client.app.state.settings.checkpoint_dir)
    cfg = loaded[model_id].cfg
    n_modules = cfg.n_layers * (3 if cfg.arch == "encoder_decoder" else 1)  # encoder, decoder self, decoder cross
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


def test_concurrent_first_requests_compute_once_per_model(client, monkeypatch):
    monkeypatch.setattr(client.app.state, "once", Once())  # as a fresh app: nothing computed yet
    calls, real = [], model.heads.score_heads

    def slow_scores(loaded):
        calls.append(loaded.id)
        time.sleep(0.3)  # the other first requests arrive meanwhile and must wait for this computation
        return real(loaded)

    monkeypatch.setattr(model.heads, "score_heads", slow_scores)
    results, start = [], threading.Barrier(4)

    def get():
        start.wait()
        results.append(client.get(f"/api/v1/models/{GPT}/heads").json())

    threads = [threading.Thread(target=get) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    results.append(client.get(f"/api/v1/models/{GPT}/heads").json())  # later: served from what was kept
    assert calls == [GPT]
    assert all(r["heads"] == reference_head_scores(GPT, client.app.state.settings.checkpoint_dir) for r in results)
    client.get(f"/api/v1/models/{TRANSLATOR}/heads")
    assert calls == [GPT, TRANSLATOR]  # another model: its own computation


@pytest.mark.parametrize("model_id", ["nope", "tiny-gpt.json", "step-00000"])
def test_unknown_model_is_404(client, error_of, model_id):
    assert error_of(client.get(f"/api/v1/models/{model_id}/heads"), 404)["code"] == "unknown_model"
