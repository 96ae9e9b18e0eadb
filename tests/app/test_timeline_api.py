"""Timeline API: the kept steps come from the snapshot folder, the losses from the training record, and every
returned pattern equals run_with_cache on that snapshot loaded independently from disk."""
from __future__ import annotations

import json
import threading

import pytest

from app.config import Settings
import torch

from model import timeline as tl
from model import zoo
from model.transformer import run_with_cache

GPT, TRANSLATOR = "tiny-gpt", "tiny-translator"

TEXT = "the dog that the cats chase"


@pytest.fixture(scope="module")
def timeline_dir(client):
    d = client.app.state.settings.checkpoint_dir / "timeline" / GPT
    assert d.is_dir(), f"{d} is missing: train tiny-gpt with `python -m model.train --model tiny-gpt`"
    return d


def test_steps_are_the_snapshot_files_and_losses_the_nearest_recorded(client, loaded, timeline_dir):
    r = client.get(f"/api/v1/models/{GPT}/timeline")
    assert r.status_code == 200, r.text
    body = r.json()
    on_disk = sorted(int(p.stem.split("-")[1]) for p in timeline_dir.glob("step-*.safetensors"))
    assert body["steps"] == on_disk and len(on_disk) >= 3
    assert body["steps"][0] == 0 and body["steps"][-1] == loaded[GPT].meta["training"]["steps"]
    recorded = loaded[GPT].meta["training"]["losses"]
    for step, loss, at in zip(body["steps"], body["losses"], body["loss_steps"]):
        best = min(abs(s - step) for s, _ in recorded)
        assert abs(at - step) == best
        assert loss == dict((s, l) for s, l in recorded)[at]
    # each snapshot's json says which step it is
    for step in body["steps"]:
        assert json.loads((timeline_dir / f"step-{step:05d}.json").read_text())["step"] == step
    # training made the loss fall between the first and the last snapshot
    assert body["losses"][-1] < body["losses"][0] - 1.0


def test_loss_near_picks_closest_earlier_on_ties():
    assert tl.loss_near([[10, 4.0], [20, 3.0]], 15) == (10, 4.0)
    assert tl.loss_near([[10, 4.0], [20, 3.0]], 0) == (10, 4.0)
    assert tl.loss_near([[10, 4.0], [20, 3.0]], 99) == (20, 3.0)
    assert tl.loss_near([], 5) is None


@pytest.mark.parametrize("layer", [0, 1])
def test_patterns_equal_run_with_cache_on_each_snapshot(client, loaded, timeline_dir, layer):
    r = client.post("/api/v1/timeline/attention", json={"model": GPT, "text": TEXT, "layer": layer})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["layer_name"] == f"blocks.{layer}.attn.hook_pattern"
    assert body["tokens"] == ["<bos>"] + TEXT.split()
    assert body["steps"] == client.get(f"/api/v1/models/{GPT}/timeline").json()["steps"]
    tokens = torch.tensor(loaded[GPT].encode(TEXT))
    for step, got in zip(body["steps"], body["patterns"]):
        snap = zoo.load(f"step-{step:05d}", timeline_dir)  # independent load, not the server's cache
        _, cache = run_with_cache(snap.model, tokens, names=[body["layer_name"]])
        want = cache[body["layer_name"]]
        got = torch.tensor(got, dtype=torch.float64)
        assert got.shape == want.shape == (loaded[GPT].cfg.n_heads, len(tokens), len(tokens))
        # the same float32 forward (same thread count); the served patterns have 6 significant digits (<= 5e-6 apart)
        torch.testing.assert_close(got, want.double(), atol=1e-5, rtol=1e-4)
        # a row of up to 7 weights (<bos> + 6 words), each rounded to 6 significant digits
        torch.testing.assert_close(got.sum(-1), torch.ones_like(got.sum(-1)), atol=1e-4, rtol=0)
        assert torch.all(got.triu(1) == 0)  # causal
    # the snapshots differ: patterns change along training
    first, last = (torch.tensor(body["patterns"][i]) for i in (0, -1))
    assert (first - last).abs().max() > 0.05


def test_final_snapshot_equals_the_shipped_model(client, loaded):
    body = client.post("/api/v1/timeline/attention", json={"model": GPT, "text": TEXT, "layer": 1}).json()
    _, cache = run_with_cache(loaded[GPT].model, torch.tensor(loaded[GPT].encode(TEXT)), names=[body["layer_name"]])
    # the final snapshot's weights are the shipped ones: the same float32 forward; served with 6 significant digits
    torch.testing.assert_close(torch.tensor(body["patterns"][-1], dtype=torch.float64),
                               cache[body["layer_name"]].double(), atol=1e-5, rtol=1e-4)


def test_step_subset_and_order(client):
    steps = client.get(f"/api/v1/models/{GPT}/timeline").json()["steps"]
    pick = [steps[-1], steps[1]]
    sub = client.post("/api/v1/timeline/attention", json={"model": GPT, "text": TEXT, "layer": 0, "steps": pick}).json()
    full = client.post("/api/v1/timeline/attention", json={"model": GPT, "text": TEXT, "layer": 0}).json()
    assert sub["steps"] == pick
    assert sub["patterns"] == [full["patterns"][-1], full["patterns"][1]]


def test_snapshots_are_cached_and_capped(tmp_path, timeline_dir):
    cache = tl.SnapshotCache(timeline_dir, capacity=2)
    steps = cache.steps()
    a = cache.get(steps[0])
    assert cache.get(steps[0]) is a and cache.loads == 1
    cache.get(steps[1]); cache.get(steps[2])
    assert cache.loads == 3 and len(cache._items) == 2
    assert cache.get(steps[0]) is not a and cache.loads == 4  # evicted, read again
    # concurrent first requests for one step load it once
    fresh = tl.SnapshotCache(timeline_dir)
    got = []
    threads = [threading.Thread(target=lambda: got.append(fresh.get(steps[3]))) for _ in range(6)]
    for t in threads: t.start()
    for t in threads: t.join()
    assert fresh.loads == 1 and all(g is got[0] for g in got)


def test_cache_only_reads_listed_snapshot_files(tmp_path):
    (tmp_path / "step-00001.json").write_text("{}")  # no weights beside it: not a snapshot
    (tmp_path / "step-1.json").write_text("{}")
    (tmp_path / "step-00002.safetensors").write_bytes(b"")  # no json
    cache = tl.SnapshotCache(tmp_path)
    assert cache.steps() == []
    for bad in (1, 2, "../../etc/passwd", -1, 1.5):
        with pytest.raises(KeyError):
            cache.get(bad)
    with pytest.raises(KeyError):
        tl.timeline_dir(tmp_path, "../etc")


@pytest.mark.parametrize("body,status,code", [
    ({"model": GPT, "text": TEXT, "layer": 2}, 422, "unknown_layer"),
    ({"model": GPT, "text": TEXT, "layer": -1}, 422, "invalid_request"),
    ({"model": GPT, "text": TEXT, "layer": "x"}, 422, "invalid_request"),
    ({"model": GPT, "text": TEXT, "layer": 0, "steps": [7]}, 422, "unknown_step"),
    ({"model": GPT, "text": TEXT, "layer": 0, "steps": []}, 422, "unknown_step"),
    ({"model": GPT, "text": TEXT, "layer": 0, "steps": ["../x"]}, 422, "invalid_request"),
    ({"model": GPT, "text": "", "layer": 0}, 422, "empty_text"),
    ({"model": GPT, "text": "the " * 200, "layer": 0}, 422, "text_too_long"),
    ({"model": "nope", "text": TEXT, "layer": 0}, 404, "unknown_model"),
    ({"model": "../timeline/tiny-gpt/step-00000", "text": TEXT, "layer": 0}, 404, "unknown_model"),
    ({"model": TRANSLATOR, "text": "the cat", "layer": 0}, 404, "no_timeline"),
    ({"text": TEXT, "layer": 0}, 422, "invalid_request"),
])
def test_bad_requests_get_4xx(client, error_of, body, status, code):
    assert error_of(client.post("/api/v1/timeline/attention", json=body), status)["code"] == code


def test_model_without_snapshots_has_an_empty_timeline(client, loaded):
    with_timeline = {p.name for p in (Settings().checkpoint_dir / "timeline").iterdir()}
    assert {GPT, "english-gpt"} <= with_timeline
    without = [m for m in loaded if m not in with_timeline]
    assert without
    for m in without:
        r = client.get(f"/api/v1/models/{m}/timeline")
        assert r.status_code == 200 and r.json() == {"model": m, "steps": [], "losses": [], "loss_steps": []}


@pytest.mark.parametrize("model_id,status,code", [
    ("nope", 404, "unknown_model"), ("step-00000", 404, "unknown_model"),
    ("tiny-gpt.json", 404, "unknown_model"),
])
def test_timeline_errors(client, error_of, model_id, status, code):
    assert error_of(client.get(f"/api/v1/models/{model_id}/timeline"), status)["code"] == code


def test_malformed_json_is_400(client, error_of):
    r = client.post("/api/v1/timeline/attention", content=b"{", headers={"Content-Type": "application/json"})
    assert error_of(r, 400)["code"] == "malformed_json"
