"""Training is reproducible: the same recipe, seed and thread count give bit-identical weights, and the CLI
writes weights, config, loss curve, metrics and timeline snapshots."""
from __future__ import annotations

import json

import torch
from safetensors.torch import load_file

from model import train, zoo


def test_same_seed_same_weights(tmp_path):
    a = train.train("tiny-gpt", tmp_path / "a", steps=15, progress=False)
    b = train.train("tiny-gpt", tmp_path / "b", steps=15, progress=False)
    sa, sb = a.model.state_dict(), b.model.state_dict()
    assert sa.keys() == sb.keys()
    assert all(torch.equal(sa[k], sb[k]) for k in sa)
    assert a.meta["training"]["losses"] == b.meta["training"]["losses"]


def test_cli_writes_a_loadable_checkpoint_with_its_record(tmp_path):
    train.main(["--model", "tiny-translator", "--steps", "12", "--out", str(tmp_path)])
    meta = json.loads((tmp_path / "tiny-translator.json").read_text())
    assert meta["training"]["steps"] == 12
    assert [s for s, _ in meta["training"]["losses"]] == [10, 12]
    assert set(meta["metrics"]) == {"exact_match", "n_test"}
    loaded = zoo.load("tiny-translator", tmp_path)
    weights = load_file(str(tmp_path / "tiny-translator.safetensors"))
    assert all(torch.equal(weights[k], v) for k, v in loaded.model.state_dict().items())


def test_loss_goes_down_and_timeline_is_kept(tmp_path):
    loaded = train.train("tiny-gpt", tmp_path, steps=60, progress=False)
    losses = [loss for _, loss in loaded.meta["training"]["losses"]]
    assert losses[-1] < losses[0] - 0.5
    snaps = sorted(p.name for p in (tmp_path / "timeline" / "tiny-gpt").glob("*.safetensors"))
    assert snaps == ["step-00000.safetensors", "step-00025.safetensors"]
    first = zoo.load("step-00000", tmp_path / "timeline" / "tiny-gpt")
    assert first.meta["step"] == 0


def test_learning_rate_schedule():
    r = train.RECIPES["tiny-gpt"]
    assert train.lr_at(0, r) == r.lr / r.warmup
    assert train.lr_at(r.warmup, r) == r.lr
    assert abs(train.lr_at(r.steps, r) - 0.1 * r.lr) < 1e-12


def test_seed_override_changes_the_run_and_is_recorded(tmp_path):
    a = train.train("tiny-gpt-no-ffn", tmp_path / "a", steps=12, progress=False)
    b = train.train("tiny-gpt-no-ffn", tmp_path / "b", steps=12, progress=False, seed=1)
    assert a.meta["training"]["seed"] == 0 and b.meta["training"]["seed"] == 1
    assert b.meta["training"]["command"].endswith("--seed 1")
    assert not torch.equal(a.model.state_dict()["embed.W_E"], b.model.state_dict()["embed.W_E"])
