"""GET /api/v1/models and /api/v1/models/{id}, checked against the loaded modules and the checkpoint json."""
from __future__ import annotations

import json
import math

from app.config import Settings
from model.glossary import describe, dims_of
from model.zoo import DEFAULT_MODEL, checkpoint_paths
from tests.hook_order import torch_hook_order

GPT, TRANSLATOR = "tiny-gpt", "tiny-translator"


def test_list_models(client, loaded):
    r = client.get("/api/v1/models")
    assert r.status_code == 200
    listed = {m["id"]: m for m in r.json()}
    assert GPT in listed and TRANSLATOR in listed
    assert r.json()[0]["id"] == DEFAULT_MODEL  # the default first
    for mid, m in listed.items():
        lm = loaded[mid]
        assert m["arch"] == lm.cfg.arch
        assert m["n_params"] == sum(p.numel() for p in lm.model.parameters())
        assert m["vocab_size"] == len(lm.tokenizer.vocab) == lm.cfg.vocab_size
        assert m["config"]["d_head"] == lm.cfg.d_model // lm.cfg.n_heads


def _walk(node):
    yield node
    for c in node["children"]:
        yield from _walk(c)


def test_detail_tree_names_vocab_training(client, loaded):
    for mid in (GPT, TRANSLATOR):
        lm = loaded[mid]
        d = client.get(f"/api/v1/models/{mid}").json()
        tree = d["architecture"]
        assert tree["n_params"] == d["n_params"] == sum(p.numel() for p in lm.model.parameters())
        nodes = list(_walk(tree))
        # every parameter appears exactly once, under its module's public path, with its shape
        state = {n: tuple(p.shape) for n, p in lm.model.named_parameters()}
        seen = [(n["path"], w["name"], tuple(w["shape"])) for n in nodes for w in n["params"]]
        assert len(seen) == len(state)
        assert sorted(w[2] for w in seen) == sorted(state.values())
        assert sum(math.prod(w[2]) for w in seen) == tree["n_params"]
        for node in nodes:  # a node's count is its own parameters plus its children's
            own = sum(w["numel"] for w in node["params"])
            assert node["n_params"] == own + sum(c["n_params"] for c in node["children"])
        paths = {n["path"] for n in nodes}
        stack = "decoder" if lm.is_encoder_decoder else "blocks"
        assert f"{stack}.0.attn" in paths and f"{stack}.{lm.cfg.n_layers - 1}.attn" in paths
        # activation names: every hook of the model, dims from the glossary
        assert [a["name"] for a in d["activation_names"]] == torch_hook_order(lm.model)  # forward order
        assert all(a["dims"] == dims_of(a["name"]) for a in d["activation_names"])
        # each entry carries its one-line description from model/glossary.py (one source), and the description
        # names the quantity, not the layer: every name with the same leaf gets the same sentence
        by_leaf: dict[str, set[str]] = {}
        for a in d["activation_names"]:
            assert a["description"] == describe(a["name"]) and len(a["description"]) > 15, a
            by_leaf.setdefault(a["name"].rsplit(".", 1)[-1], set()).add(a["description"])
        assert all(len(v) == 1 for v in by_leaf.values()), by_leaf
        assert len({v.pop() for v in by_leaf.values()}) == len(by_leaf)  # different leaves, different sentences
        assert d["vocab"] == lm.tokenizer.vocab
        # training record: the checkpoint's json, as stored on disk
        meta = json.loads(checkpoint_paths(mid, Settings().checkpoint_dir)[1].read_text())
        flat = {k: v for k, v in meta.items() if k not in ("config", "vocab", "id", "description", "metrics",
                                                            "head_labels")}
        if isinstance(flat.get("training"), dict):
            flat = {**flat.pop("training"), **flat}
        assert d["training"] == flat
        assert d["metrics"] == meta.get("metrics")
        assert "head_labels" not in d  # served by GET /api/v1/models/{id}/heads, computed only when asked for
        assert d["description"] == meta.get("description", "")


def test_tree_paths_prefix_activation_names(client, loaded):
    d = client.get(f"/api/v1/models/{TRANSLATOR}").json()
    paths = {n["path"] for n in _walk(d["architecture"])}
    for name in ("decoder.0.cross_attn.hook_pattern", "encoder.0.attn.hook_q", "decoder.0.ln1.hook_scale"):
        assert name in {a["name"] for a in d["activation_names"]}
        assert name.rsplit(".", 1)[0] in paths


def test_unknown_model_lists_available(client, error_of):
    e = error_of(client.get("/api/v1/models/no-such-model"), 404)
    assert e["code"] == "unknown_model"
    assert GPT in e["message"] and TRANSLATOR in e["message"]


def test_model_detail_scores_no_heads(client, monkeypatch):
    """Every page asks for the model detail: it must not run the head probes (they have their own endpoint)."""
    import model.heads

    calls = []
    monkeypatch.setattr(model.heads, "score_heads", lambda loaded: calls.append(loaded.id))
    from app.once import Once
    monkeypatch.setattr(client.app.state, "once", Once())  # nothing computed earlier in this module counts
    for mid in (GPT, TRANSLATOR):
        assert client.get(f"/api/v1/models/{mid}").status_code == 200
    assert calls == []
