"""Hugging Face checkpoints through the API: listed without loading, loaded on first use, traced with their own
dims (grouped-query attention), the forward pass described as steps, no subword vocabulary in the details, and
a clear 404 for a model that is configured but cannot load."""
import json

import pytest
import torch
from fastapi.testclient import TestClient

from app.config import Settings
from app.main import create_app
from model.transformer import run_with_cache
from tests.model import test_convert_bert, test_convert_llama, test_convert_marian

pytest.importorskip("transformers")  # the test extra installs it; never skipped there


@pytest.fixture(scope="module")
def hf_client(tmp_path_factory):
    root = tmp_path_factory.mktemp("hf")
    llama, _ = test_convert_llama.checkpoint(root / "tiny-llama", "llama")
    bert, _ = test_convert_bert.checkpoint(root / "tiny-bert")
    marian, _ = test_convert_marian.checkpoint(root / "mt")
    (root / "t5").mkdir()
    (root / "t5" / "config.json").write_text(json.dumps({"model_type": "t5"}))
    specs = ("tiny-gpt", f"hf:{llama}", f"hf:{bert}", f"hf:{marian}", f"hf:{root}/t5", "hf:someone/not-cached")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("HF_HUB_OFFLINE", "1")
        mp.setenv("HF_HUB_CACHE", str(root / "empty-cache"))
        with TestClient(create_app(Settings(models=specs))) as c:
            yield c


def test_listing_reads_configs_and_loads_nothing(hf_client):
    out = hf_client.get("/api/v1/models").json()
    assert [m["id"] for m in out] == ["tiny-gpt", "tiny-llama", "tiny-bert", "tiny-opus-mt"]
    arch = {m["id"]: m["arch"] for m in out}
    assert arch["tiny-bert"] == "encoder" and arch["tiny-opus-mt"] == "encoder_decoder"
    assert set(hf_client.app.state.models.loaded()) == {"tiny-gpt"}  # shipped ones at start, HF on first use
    page = hf_client.get("/")
    assert page.status_code == 200 and "tiny-llama" in page.text
    assert set(hf_client.app.state.models.loaded()) == {"tiny-gpt"}


def test_details_give_steps_and_no_subword_vocab(hf_client):
    d = hf_client.get("/api/v1/models/tiny-llama").json()
    assert d["vocab"] is None and d["n_params"] > 0
    steps = {s["hook"]: s for s in d["steps"]}
    rot_k = steps["blocks.0.attn.hook_rot_k"]
    assert {k: rot_k[k] for k in ("name", "hook", "dims", "component", "kind", "extra")} == {
        "name": "rotated keys", "hook": "blocks.0.attn.hook_rot_k", "dims": ["key_pos", "kv_head", "d_head"],
        "component": "blocks.0.attn", "kind": "attention", "extra": False}
    # what a page needs to draw it: its stage and layer, the tokens its positions run over, its attention family
    cfg = d["config"]
    assert cfg["n_kv_heads"] < cfg["n_heads"]
    assert {k: rot_k[k] for k in ("stage", "layer", "positions", "with", "part_of", "views")} == {
        "stage": "blocks.0", "layer": 0, "positions": {"key_pos": "source"}, "with": [], "part_of": None, "views": []}
    assert rot_k["attention"] == {"id": "self", "label": "self-attention (causal)", "mask": "causal", "window": None,
                                  "n_heads": cfg["n_heads"], "n_kv_heads": cfg["n_kv_heads"]}
    assert rot_k["title"] == "Rotary: rotate the keys" and f"{cfg['n_kv_heads']} heads" in rot_k["text"]
    assert steps["blocks.0.attn.hook_k"]["part_of"] == "blocks.0.attn.hook_q"
    assert steps["blocks.0.attn.hook_q"]["with"] == ["blocks.0.attn.hook_k", "blocks.0.attn.hook_v"]
    assert [s["id"] for s in d["stages"]] == ["embed", *[f"blocks.{l}" for l in range(cfg["n_layers"])], "output"]
    assert d["stages"][0]["names"] == ["hook_embed"]  # rotary: no position vector in the input stage
    assert [s["hook"] for s in d["steps"]] == [a["name"] for a in d["activation_names"]]
    assert steps["blocks.0.ln1.hook_scale"]["kind"] == "rms_norm"
    assert hf_client.get("/api/v1/models/tiny-gpt").json()["vocab"][:4] == ["<pad>", "<unk>", "<bos>", "<eos>"]


def test_trace_uses_the_models_own_dims(hf_client):
    loaded = hf_client.app.state.models["tiny-llama"]
    r = hf_client.post("/api/v1/trace", json={"model": "tiny-llama", "text": "the keeper counted boats",
                                              "names": ["blocks.1.attn.hook_k", "blocks.1.attn.hook_q"],
                                              "heads": [3], "precision": 8})
    assert r.status_code == 200, r.text
    acts = r.json()["activations"]
    n = len(r.json()["tokens"])
    k, q = acts["blocks.1.attn.hook_k"], acts["blocks.1.attn.hook_q"]
    assert k["dims"] == ["key_pos", "kv_head", "d_head"] and k["shape"] == [n, 2, 16]  # kv heads kept whole
    assert q["dims"] == ["pos", "head", "d_head"] and q["shape"] == [n, 1, 16]
    _, cache = run_with_cache(loaded.model, torch.tensor(loaded.encode("the keeper counted boats")))
    torch.testing.assert_close(torch.tensor(q["data"])[:, 0], cache["blocks.1.attn.hook_q"][:, 3],
                               rtol=1e-7, atol=0)  # 8 significant digits asked for; same forward, same thread


def test_bert_and_marian_through_the_api(hf_client):
    r = hf_client.post("/api/v1/trace", json={"model": "tiny-bert", "text": "the harbour [MASK]",
                                              "names": ["hook_logits"]})
    assert r.status_code == 200, r.text
    tokens = r.json()["tokens"]
    assert tokens[0] == "[CLS]" and tokens[-1] == "[SEP]" and "[MASK]" in tokens
    r = hf_client.post("/api/v1/next-token", json={"model": "tiny-bert", "text": "the harbour"})
    assert r.status_code == 422 and r.json()["error"]["code"] == "encoder_only"
    assert "[MASK]" in r.json()["error"]["message"]
    r = hf_client.post("/api/v1/trace", json={"model": "tiny-opus-mt", "text": "the keeper", "target": "le",
                                              "names": ["decoder.0.cross_attn.hook_pattern"]})
    assert r.status_code == 200, r.text
    assert r.json()["target_tokens"][0] == "<pad>" and r.json()["tokens"][-1] == "</s>"
    r = hf_client.post("/api/v1/generate", json={"model": "tiny-opus-mt", "text": "the keeper", "max_new_tokens": 3,
                                                 "seed": 1})
    assert r.status_code == 200, r.text and len(r.json()["steps"]) >= 1


def test_models_that_cannot_load_say_why(hf_client):
    for model, code, words in (("someone/not-cached", "model_unavailable", "not in the Hugging Face cache"),
                               ("t5", "model_unavailable", "'t5' is not supported"),
                               ("gpt-5", "unknown_model", "tiny-llama")):
        r = hf_client.get(f"/api/v1/models/{model}")
        assert r.status_code == 404 and r.json()["error"]["code"] == code, (model, r.text)
        assert words in r.json()["error"]["message"]
    r = hf_client.post("/api/v1/trace", json={"model": "someone/not-cached", "text": "the cat"})
    assert r.status_code == 404 and "snapshot_download('someone/not-cached')" in r.json()["error"]["message"]


def test_hub_ids_with_a_slash_in_paths(tmp_path, monkeypatch):
    """A hub id is the API id, slash included, in every /models/{id}/... route (the pages send it
    percent-encoded, which the server decodes before routing)."""
    path, _ = test_convert_llama.checkpoint(tmp_path / "ckpt", "smollm")
    from tests.model.hf_fixtures import hub_cache
    cache = hub_cache(tmp_path / "hub", "HuggingFaceTB/tiny-smollm", path)
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_HUB_CACHE", str(cache))
    with TestClient(create_app(Settings(models=("hf:HuggingFaceTB/tiny-smollm",)))) as c:
        for url in ("/api/v1/models/HuggingFaceTB/tiny-smollm", "/api/v1/models/HuggingFaceTB%2Ftiny-smollm",
                    "/api/v1/models/HuggingFaceTB/tiny-smollm/heads",
                    "/api/v1/models/HuggingFaceTB/tiny-smollm/activation-fn",
                    "/api/v1/models/HuggingFaceTB/tiny-smollm/weights",
                    "/api/v1/models/HuggingFaceTB/tiny-smollm/weights/blocks.0.attn.W_K"):
            r = c.get(url)
            assert r.status_code == 200, (url, r.text)
        assert c.get("/api/v1/models/HuggingFaceTB/tiny-smollm").json()["id"] == "HuggingFaceTB/tiny-smollm"
        assert c.get("/api/v1/models/HuggingFaceTB/tiny-smollm/weights/blocks.0.attn.W_K").json()["shape"] == [1, 64, 8]
        r = c.get("/api/v1/models/HuggingFaceTB/tiny-smollm/positions")
        assert r.status_code == 422 and "rotary" in r.json()["error"]["message"]


def test_pages_open_on_a_served_model(hf_client):
    """The default model (english-gpt) is not served here: the pages open on the first served one instead of
    asking for a model the server does not have."""
    import re
    page = hf_client.get("/glossary").text
    embedded = json.loads(re.search(r'<script id="xray-models" type="application/json">(.*?)</script>', page).group(1))
    assert embedded["default"] == "tiny-gpt" == embedded["models"][0]["id"]


def test_token_strings_by_id(hf_client):
    """GET /models/{id}/tokens: the display strings of ids (what a trace shows for them), in the order asked."""
    loaded = hf_client.app.state.models["tiny-llama"]
    ids = loaded.encode("the keeper counted boats")
    r = hf_client.get(f"/api/v1/models/tiny-llama/tokens?ids={','.join(map(str, ids))}")
    assert r.status_code == 200, r.text
    traced = hf_client.post("/api/v1/trace", json={"model": "tiny-llama", "text": "the keeper counted boats",
                                                   "names": ["hook_embed"]}).json()["tokens"]
    assert [t["token"] for t in r.json()["tokens"]] == traced and [t["id"] for t in r.json()["tokens"]] == ids
    assert any(t["token"].startswith(" ") for t in r.json()["tokens"])  # SentencePiece's ▁ shown as a space
    for bad in ("-1", str(loaded.cfg.vocab_size), "x", ""):
        r = hf_client.get(f"/api/v1/models/tiny-llama/tokens?ids={bad}")
        assert r.status_code == 422 and r.json()["error"]["code"] in ("invalid_ids", "validation_error"), r.text


def test_pages_and_listing_leave_out_a_model_that_cannot_be_read(tmp_path):
    """A served model whose config cannot be read any more is left out of /api/v1/models and the pages' menus;
    the pages still render (they used to answer 500)."""
    path, _ = test_convert_llama.checkpoint(tmp_path / "tiny-llama", "llama")
    with TestClient(create_app(Settings(models=("tiny-gpt", f"hf:{path}")))) as c:
        (path / "config.json").unlink()
        assert [m["id"] for m in c.get("/api/v1/models").json()] == ["tiny-gpt"]
        page = c.get("/glossary")
        assert page.status_code == 200
        import re
        menu = json.loads(re.search(r'<script id="xray-models" type="application/json">(.*?)</script>', page.text).group(1))
        assert [m["id"] for m in menu["models"]] == ["tiny-gpt"]
