"""XRAY_MODELS specs, the messages for models that cannot load, lazy thread-safe loading and LRU eviction."""
import json
import threading
import time

import pytest
import torch

from model import zoo
from model.registry import ModelRegistry, ModelUnavailable, parse
from tests.model.hf_fixtures import byte_bpe, randomize, save

transformers = pytest.importorskip("transformers")  # the test extra installs it; never skipped there


@pytest.fixture(autouse=True)
def offline(monkeypatch, tmp_path):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "empty-cache"))


def tiny_gpt2(directory, seed=0):
    tok = byte_bpe(280, bos_token="<|endoftext|>", eos_token="<|endoftext|>")
    cfg = transformers.GPT2Config(n_layer=1, n_embd=32, n_head=2, vocab_size=len(tok), n_positions=16)
    torch.manual_seed(seed)
    return save(randomize(transformers.GPT2LMHeadModel(cfg), seed), tok, directory)


def test_parse_specs():
    specs = parse(" tiny-gpt, hf:gpt2 ,, hf:/models/my-model ,hf:EleutherAI/pythia-70m")
    assert [(s.id, s.kind, s.ref) for s in specs] == [
        ("tiny-gpt", "shipped", "tiny-gpt"), ("gpt2", "huggingface", "gpt2"),
        ("my-model", "huggingface", "/models/my-model"),
        ("EleutherAI/pythia-70m", "huggingface", "EleutherAI/pythia-70m")]
    with pytest.raises(ValueError, match="more than once"):
        parse("tiny-gpt,tiny-gpt")
    with pytest.raises(ValueError, match="hf:<hub id>"):
        parse("hf:")


def test_empty_spec_serves_the_shipped_zoo_lazily():
    reg = ModelRegistry("")
    assert reg.ids == zoo.available() and not reg.problems and not reg.loaded()
    assert reg.model("tiny-gpt").id == "tiny-gpt" and list(reg.loaded()) == ["tiny-gpt"]


def test_problems_say_what_to_do(tmp_path):
    (tmp_path / "t5").mkdir()
    (tmp_path / "t5" / "config.json").write_text(json.dumps({"model_type": "t5"}))
    (tmp_path / "empty").mkdir()
    reg = ModelRegistry(f"tiny-gpt,no-such-model,hf:{tmp_path}/t5,hf:{tmp_path}/empty,hf:someone/not-cached",
                        allow_download=False)
    assert reg.ids == ["tiny-gpt"]
    assert "hf:no-such-model" in reg.problems["no-such-model"] and "shipped" in reg.problems["no-such-model"]
    assert "'t5' is not supported" in reg.problems["t5"] and "gpt2" in reg.problems["t5"]
    assert "no config.json" in reg.problems["empty"] and "save_pretrained" in reg.problems["empty"]
    msg = reg.problems["someone/not-cached"]
    assert "not in the Hugging Face cache" in msg and "snapshot_download('someone/not-cached')" in msg
    with pytest.raises(ModelUnavailable) as e:
        reg.model("t5")
    assert e.value.known and "cannot be loaded" in e.value.message
    with pytest.raises(ModelUnavailable) as e:
        reg.model("gpt-5")
    assert not e.value.known and "tiny-gpt" in e.value.message


def test_lru_eviction_under_the_memory_budget(tmp_path):
    paths = [tiny_gpt2(tmp_path / f"m{i}", i) for i in range(3)]
    one = ModelRegistry(f"hf:{paths[0]}").model("m0")
    size = sum(p.numel() * 4 for p in one.model.parameters())
    reg = ModelRegistry(",".join(["tiny-gpt"] + [f"hf:{p}" for p in paths]), budget_bytes=int(2.5 * size))
    reg.model("m0"), reg.model("m1"), reg.model("tiny-gpt")
    reg.model("m0")  # m1 is now the least recently used
    reg.model("m2")
    assert set(reg.loaded()) == {"m0", "m2", "tiny-gpt"}  # shipped models are not counted, never evicted
    small = ModelRegistry(f"hf:{paths[0]}", budget_bytes=size // 2)
    with pytest.raises(ModelUnavailable, match="over the memory budget"):
        small.model("m0")


def test_concurrent_first_use_loads_once(tmp_path):
    calls = []

    def slow_loader(spec):
        calls.append(spec.id)
        time.sleep(0.2)
        return zoo.load("tiny-gpt")

    reg = ModelRegistry("tiny-gpt", loader=slow_loader)
    got = []
    threads = [threading.Thread(target=lambda: got.append(reg.model("tiny-gpt"))) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert calls == ["tiny-gpt"] and len(got) == 4 and all(g is got[0] for g in got)


def test_info_reads_configs_without_loading(tmp_path):
    path = tiny_gpt2(tmp_path / "m0")
    reg = ModelRegistry(f"tiny-gpt,hf:{path}")
    hf, shipped = reg.info("m0"), reg.info("tiny-gpt")
    assert not reg.loaded()
    assert hf.kind == "huggingface" and hf.cfg.n_layers == 1 and "gpt2" in hf.description
    assert shipped.cfg == zoo.load("tiny-gpt").cfg and shipped.description
    assert hf.n_params == sum(p.numel() for p in reg.model("m0").model.parameters())
    with pytest.raises(ModelUnavailable):
        reg.info("nope")


def test_the_registry_is_a_read_only_mapping_that_loads_on_access(tmp_path):
    path = tiny_gpt2(tmp_path / "m0")
    reg = ModelRegistry(f"tiny-gpt,hf:{path},hf:{tmp_path}/missing")
    assert list(reg) == ["tiny-gpt", "m0"] and len(reg) == 2
    assert "m0" in reg and "missing" not in reg and "nope" not in reg and not reg.loaded()
    assert reg["m0"] is reg.model("m0") and reg.get("nope") is None
    reg.preload()  # the shipped ones
    assert set(reg.loaded()) == {"m0", "tiny-gpt"}
    with pytest.raises(KeyError, match="no config.json"):
        reg["missing"]


def test_a_cache_entry_without_weights_says_so(tmp_path, monkeypatch):
    """A listing with the network on fetches config.json alone; offline, loading that entry later says the
    weights are missing instead of failing somewhere else."""
    from tests.model.hf_fixtures import hub_cache
    path = tiny_gpt2(tmp_path / "m0")
    partial = tmp_path / "partial"
    partial.mkdir()
    (partial / "config.json").write_text((path / "config.json").read_text())
    monkeypatch.setenv("HF_HUB_CACHE", str(hub_cache(tmp_path / "hub", "org/partial", partial)))
    reg = ModelRegistry("hf:org/partial")
    assert reg.info("org/partial").cfg.n_layers == 1  # the config is enough for a listing
    with pytest.raises(ModelUnavailable, match="holds no weights"):
        reg.model("org/partial")


def test_infos_leave_out_a_model_whose_config_became_unreadable(tmp_path):
    """The model listing and the pages' menus (both `infos`) skip a model whose config.json went away after start,
    and its own `info` says why."""
    path = tiny_gpt2(tmp_path / "m0")
    reg = ModelRegistry(f"tiny-gpt,hf:{path}")
    assert list(reg) == ["tiny-gpt", "m0"]
    (path / "config.json").unlink()
    assert [i.id for i in reg.infos()] == ["tiny-gpt"]
    with pytest.raises(ModelUnavailable, match="could not be read"):
        reg.info("m0")
