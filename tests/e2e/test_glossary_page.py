"""/glossary in headless Chromium: every activation name of the model with its dims and the description the API
gives (model/glossary.py), in forward order, searchable, and every link opens a place that draws that name."""
from __future__ import annotations

from urllib.parse import parse_qs, urlparse

import pytest

from model.glossary import describe, dims_of

from .conftest import screenshot, wait_ready
from .helpers import api, loaded_model

GPT, TRANSLATOR = "tiny-gpt", "tiny-translator"


def rows(page) -> list[dict]:
    return page.evaluate("""() => [...document.querySelectorAll('#glossary-table tbody tr[data-name]')].map((tr) => ({
        name: tr.dataset.name, dims: tr.querySelector('.dims').textContent, description: tr.querySelector('.desc').textContent,
        links: [...tr.querySelectorAll('.links a')].map((a) => [a.textContent, a.getAttribute('href')])}))""")


def trace_step_names(page, server, model_id) -> set[str]:
    page.goto(f"{server}/trace?model={model_id}")
    wait_ready(page)
    return set(page.evaluate("() => [...document.querySelectorAll('#step-list li')].map((li) => li.dataset.name)"))


@pytest.mark.parametrize("model_id", [GPT, TRANSLATOR])
def test_every_name_with_dims_description_and_links(page, server, model_id):
    info = api(server, f"/api/v1/models/{model_id}")
    cfg = loaded_model(model_id).cfg
    steps = trace_step_names(page, server, model_id)
    page.goto(f"{server}/glossary?model={model_id}")
    wait_ready(page)
    shown = rows(page)
    assert sorted(r["name"] for r in shown) == sorted(a["name"] for a in info["activation_names"])
    assert page.locator("#status").text_content().startswith(f"{len(shown)} activation names of {model_id}")
    sizes = {"d_model": cfg.d_model, "d_head": cfg.d_model // cfg.n_heads, "head": cfg.n_heads, "d_mlp": cfg.d_mlp,
             "d_vocab": cfg.vocab_size}
    for r in shown:
        dims = dims_of(r["name"])
        assert r["dims"] == "[" + ", ".join(f"{d}={sizes[d]}" if d in sizes else d for d in dims) + "]"
        assert r["description"] == describe(r["name"])
        # the trace link goes to a step of the trace page that draws this name (K, V with Q; LN stats with LN)
        label, href = r["links"][0]
        assert label == "trace step"
        goto = parse_qs(urlparse(href).query)["goto"][0]
        assert goto in steps, (r["name"], goto)
        assert goto.rsplit(".", 1)[0] == r["name"].rsplit(".", 1)[0]
    # forward order: embeddings first, each block's names before the next block's, the logits last
    names = [r["name"] for r in shown]
    first_block = "encoder.0" if model_id == TRANSLATOR else "blocks.0"
    assert names[0].endswith("hook_embed") and names[-2:] == ["hook_logits", "hook_probs"]
    assert names.index(f"{first_block}.hook_resid_pre") < names.index(f"{first_block}.hook_resid_post")
    assert max(i for i, n in enumerate(names) if n.startswith(f"{first_block}.")) < min(
        i for i, n in enumerate(names) if n.startswith(first_block[:-1] + "1."))
    screenshot(page, f"glossary-{model_id}")


def test_search_filters_and_is_in_the_url(page, server):
    info = api(server, f"/api/v1/models/{GPT}")
    page.goto(f"{server}/glossary?model={GPT}")
    wait_ready(page)
    page.fill("#q", "layer norm D_MODEL")
    words = ["layer", "norm", "d_model"]
    expected = [a["name"] for a in info["activation_names"]
                if all(w in f"{a['name']} {' '.join(a['dims'])} {a['description']}".lower() for w in words)]
    assert expected  # the LN output (hook_out) and its normalized input (hook_normalized)
    assert sorted(r["name"] for r in rows(page)) == sorted(expected)
    assert page.locator("#status").text_content().startswith(f"{len(expected)} of {len(info['activation_names'])}")
    assert "q=layer+norm+D_MODEL" in page.url
    page.fill("#q", "no such thing")
    assert rows(page) == []
    page.goto(f"{server}/glossary?model={GPT}&q=hook_pattern")  # the query in a link reproduces the view
    wait_ready(page)
    assert {r["name"] for r in rows(page)} == {f"blocks.{l}.attn.hook_pattern" for l in range(loaded_model(GPT).cfg.n_layers)}
    screenshot(page, "glossary-search")


def test_links_open_the_place_that_draws_the_name(page, server):
    page.goto(f"{server}/glossary?model={TRANSLATOR}&q=decoder.1.cross_attn.hook_")
    wait_ready(page)
    by_name = {r["name"]: dict(r["links"]) for r in rows(page)}
    # K is drawn on the Q, K, V step of the trace
    page.goto(server + by_name["decoder.1.cross_attn.hook_k"]["trace step"])
    wait_ready(page)
    assert page.locator("#step-name").text_content().startswith("decoder.1.cross_attn.hook_q / hook_k / hook_v")
    # the cross-attention pattern opens on the attention page at that layer, cross-attention
    page.goto(server + by_name["decoder.1.cross_attn.hook_pattern"]["attention"])
    wait_ready(page)
    assert (page.input_value("#kind"), page.input_value("#layer")) == ("cross", "1")
    assert page.locator("#pattern-title").text_content().startswith("cross-attention (target over source), layer 1")
    # a layer norm statistic opens the layer-norm page on that norm
    page.goto(f"{server}/glossary?model={TRANSLATOR}&q=decoder.0.ln_cross.hook_scale")
    wait_ready(page)
    (row,) = rows(page)
    page.goto(server + dict(row["links"])["layer norm"])
    wait_ready(page)
    assert page.input_value("#ln") == "decoder.0.ln_cross"
