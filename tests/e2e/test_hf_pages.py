"""The pages at real scale, on Hugging Face checkpoints built here (tests/e2e/hf_models.py) and served by a second
server (conftest.hf_server): /attention's 12 x 12 grid at 1400 px and 390 px (cells, labels, selection, keyboard),
its first picture fetched before the other layers, Marian's three attention kinds on the right tokens, a
grouped-query Llama's query heads; /trace stepping through every step the model describes (GPT-2-shaped, Llama,
Marian) with the last step's numbers equal to the API's."""
from __future__ import annotations

import html
import json
from urllib.parse import urlencode

import numpy as np
import pytest

from .conftest import screenshot, wait_ready
from .helpers import api
from .test_attention_page import causal_view, plot_z, table_weights
from .test_trace_page import plot_data, step_count

TEXT = "the lighthouse keeper counted ships until the fog rolled in, and seven small boats waited by the wall"
SOURCE, TARGET = "the keeper counted boats by the harbour wall", "a heron waited"
SLOW = 120_000  # ms: the first request loads the model (the machine is shared)


def open_page(page, base: str, path: str, **query) -> None:
    page.goto(f"{base}{path}?{urlencode(query)}")
    wait_ready(page, timeout=SLOW)


def pattern_of(base: str, model: str, name: str, target: str | None = None) -> tuple[np.ndarray, dict]:
    body = {"model": model, "text": SOURCE if target is not None else TEXT, "names": [name]}
    if target is not None:
        body["target"] = target
    out = api(base, "/api/v1/trace", body)
    return np.array(out["activations"][name]["data"], dtype=float), out


def shown_pattern(page) -> np.ndarray:
    return np.array(plot_z(page, "plot-pattern"), dtype=float)  # null (masked) -> nan


# ---------------------------------------------------------------------------------------------- /attention
@pytest.mark.parametrize("width", [1400, 390])
def test_attention_grid_12_by_12(page, hf_server, width):
    base, ids = hf_server
    model = ids["gpt2"]
    page.set_viewport_size({"width": width, "height": 900})
    open_page(page, base, "/attention", model=model, text=TEXT)
    cells = page.locator("#grid .grid-cell")
    assert cells.count() == 12 * 13  # 12 layers x (12 heads + their mean)
    assert page.locator('#grid canvas[data-drawn="true"]').count() == 12 * 13
    assert page.locator("#grid .grid-head").all_text_contents()[:14] == [
        "layer \\ head", *map(str, range(12)), "mean"]
    widths = page.evaluate("() => [...document.querySelectorAll('#grid .grid-cell')].map((c) => c.getBoundingClientRect().width)")
    assert min(widths) >= 40, min(widths)  # a map stays big enough to see and to hit
    assert page.evaluate("() => document.documentElement.scrollWidth") <= width  # the page never scrolls sideways
    scroll_w, client_w = page.evaluate("() => { const s = document.querySelector('.grid-scroll'); return [s.scrollWidth, s.clientWidth]; }")
    if width == 390:
        assert scroll_w > client_w  # the grid scrolls inside its card; the layer labels stay in view
        page.evaluate("() => { document.querySelector('.grid-scroll').scrollLeft = 10000; }")
        label, box = page.evaluate("""() => [document.querySelector('#grid .grid-layer').getBoundingClientRect().left,
            document.querySelector('.grid-scroll').getBoundingClientRect().left]""")
        assert abs(label - box) < 2
    else:
        assert scroll_w <= client_w  # everything fits at 1400 px
    screenshot(page, f"hf-attention-grid-{width}")

    # a map of the grid opens that layer and head; the large pattern and the map are the API's numbers
    cell = page.locator('#grid .grid-cell[data-layer="7"][data-head="11"]')
    cell.scroll_into_view_if_needed()
    cell.click()
    wait_ready(page)
    assert (page.input_value("#layer"), page.input_value("#head")) == ("7", "11")
    pattern, out = pattern_of(base, model, "blocks.7.attn.hook_pattern")
    assert pattern.shape[0] == 12 and len(out["tokens"]) > 20
    np.testing.assert_array_equal(shown_pattern(page), causal_view(pattern[11]))
    small = page.evaluate("""() => document.querySelector('#grid .grid-cell[data-layer="7"][data-head="11"] .grid-plot').data[0].z""")
    np.testing.assert_array_equal(np.array(small, dtype=float), causal_view(pattern[11]))
    # a token: every head's weights for that query
    q = 6
    page.locator("#chips .chip").nth(q).click()
    wait_ready(page)
    shown = table_weights(page)
    for h in range(12):
        assert shown[str(h)] == list(pattern[h, q])
    # keyboard: the grid is one Tab stop; arrows move, Enter opens
    assert page.evaluate("() => [...document.querySelectorAll('#grid .grid-cell')].filter((c) => c.tabIndex === 0).length") == 1
    page.locator('#grid .grid-cell[data-layer="7"][data-head="11"]').focus()
    for key in ("ArrowUp", "ArrowLeft", "ArrowLeft"):
        page.keyboard.press(key)
    assert page.evaluate("() => [document.activeElement.dataset.layer, document.activeElement.dataset.head]") == ["6", "9"]
    page.keyboard.press("Enter")
    wait_ready(page)
    assert (page.input_value("#layer"), page.input_value("#head")) == ("6", "9")
    assert page.locator("#chips .chip[aria-pressed=true]").get_attribute("data-index") == str(q)  # arrows in the grid
    screenshot(page, f"hf-attention-open-{width}")


def test_first_picture_waits_for_one_layer(page, hf_server):
    """The chosen layer is fetched first and drawn while the others are still on their way; the others follow in
    order, one request each, each asked for once."""
    base, ids = hf_server
    model = ids["gpt2"]
    names: list[list[str]] = []
    held = []
    page.on("request", lambda r: names.append(json.loads(r.post_data)["names"]) if r.url.endswith("/api/v1/trace") else None)
    page.route("**/api/v1/trace", lambda r: held.append(r) if "blocks.11." in (r.request.post_data or "") else r.continue_())
    page.goto(f"{base}/attention?{urlencode({'model': model, 'text': TEXT, 'layer': 5, 'head': 2})}")
    page.wait_for_selector('#plot-pattern[data-drawn="true"]', timeout=SLOW)
    for _ in range(600):  # the other layers arrive one at a time; the last one is held
        if held:
            break
        page.wait_for_timeout(100)
    assert held, names
    assert names[0] == ["blocks.5.attn.hook_pattern"]
    assert page.get_attribute("body", "data-ready") == "false"  # the run is not over: layer 11 is missing
    assert page.locator("#pattern-title").text_content().startswith("self-attention (causal), layer 5, head 2")
    assert page.locator('#grid canvas[data-drawn="true"]').count() == 11 * 13
    held[0].continue_()
    wait_ready(page)
    assert names == [[f"blocks.{l}.attn.hook_pattern"] for l in [5, 0, 1, 2, 3, 4, 6, 7, 8, 9, 10, 11]]
    assert page.locator('#grid canvas[data-drawn="true"]').count() == 12 * 13


def test_marian_cross_attention_source_keys_target_queries(page, hf_server):
    base, ids = hf_server
    model = ids["marian"]
    open_page(page, base, "/attention", model=model, text=SOURCE, target=TARGET, layer=1, head=2)
    kinds = page.evaluate("() => [...document.querySelectorAll('#kind option')].map((o) => [o.value, o.textContent])")
    assert kinds == [["cross", "cross-attention (target over source)"], ["encoder", "encoder self-attention"],
                     ["decoder", "decoder masked self-attention"]]
    assert page.input_value("#kind") == "cross"
    pattern, out = pattern_of(base, model, "decoder.1.cross_attn.hook_pattern", TARGET)
    src, tgt = out["tokens"], out["target_tokens"]
    assert len(src) != len(tgt)
    chips = page.locator("#chips .chip").all_text_contents()
    readable = lambda toks: [t.replace(" ", "·") for t in toks]  # noqa: E731 - a word start shows as ·
    assert chips == readable(tgt)  # the queries are the target tokens
    headers = page.locator("#weights-table tr").first.locator("th").all_text_contents()[1:]
    assert headers == [f"{i}:{t}" for i, t in enumerate(readable(src))]  # the keys are the source tokens
    assert not any("▁" in t for t in chips + headers) and any(":·" in t for t in headers)
    np.testing.assert_array_equal(shown_pattern(page), pattern[2])  # not causal: nothing greyed
    x = page.evaluate("() => document.getElementById('plot-pattern').layout.xaxis.ticktext.length")
    assert x == len(src) and shown_pattern(page).shape == (len(tgt), len(src))
    screenshot(page, "hf-attention-marian-cross")
    page.select_option("#kind", "encoder")
    wait_ready(page)
    assert page.locator("#chips .chip").all_text_contents() == readable(src)
    enc, _ = pattern_of(base, model, "encoder.1.attn.hook_pattern", TARGET)
    np.testing.assert_array_equal(shown_pattern(page), enc[2])  # an encoder sees both ways: no grey cells
    page.select_option("#kind", "decoder")
    wait_ready(page)
    dec, _ = pattern_of(base, model, "decoder.1.attn.hook_pattern", TARGET)
    np.testing.assert_array_equal(shown_pattern(page), causal_view(dec[2]))
    assert page.locator("#chips .chip").all_text_contents() == readable(tgt)
    page.set_viewport_size({"width": 390, "height": 900})
    page.select_option("#kind", "cross")
    wait_ready(page)
    assert page.evaluate("() => document.documentElement.scrollWidth") <= 390
    screenshot(page, "hf-attention-marian-cross-390")


def test_gqa_model_shows_every_query_head(page, hf_server):
    base, ids = hf_server
    model = ids["llama"]
    cfg = api(base, f"/api/v1/models/{model}")["config"]
    assert cfg["n_kv_heads"] < cfg["n_heads"] == 4
    open_page(page, base, "/attention", model=model, text=TEXT, layer=1, head=3)
    heads = page.evaluate("() => [...document.querySelectorAll('#head option')].map((o) => o.value)")
    assert heads == ["mean", "0", "1", "2", "3"]
    pattern, _ = pattern_of(base, model, "blocks.1.attn.hook_pattern")
    assert pattern.shape[0] == 4  # one pattern per query head, though keys and values have 2
    np.testing.assert_array_equal(shown_pattern(page), causal_view(pattern[3]))
    q = int(page.locator("#chips .chip[aria-pressed=true]").get_attribute("data-index"))
    shown = table_weights(page)
    assert sorted(shown) == ["0", "1", "2", "3", "mean"]
    for h in range(4):
        assert shown[str(h)] == list(pattern[h, q])
    assert page.locator("#grid .grid-cell").count() == 2 * 5


def test_encoder_attention_is_bidirectional(page, hf_server):
    """BERT: one family of self-attention that sees both ways; nothing is drawn as masked."""
    base, ids = hf_server
    model = ids["bert"]
    open_page(page, base, "/attention", model=model, text=SOURCE, layer=1, head=0)
    kinds = page.evaluate("() => [...document.querySelectorAll('#kind option')].map((o) => [o.value, o.textContent])")
    assert kinds == [["self", "self-attention (bidirectional)"]]
    out = api(base, "/api/v1/trace", {"model": model, "text": SOURCE, "names": ["blocks.1.attn.hook_pattern"]})
    pattern = np.array(out["activations"]["blocks.1.attn.hook_pattern"]["data"], dtype=float)
    assert out["tokens"][0] == "[CLS]" and out["tokens"][-1] == "[SEP]"
    np.testing.assert_array_equal(shown_pattern(page), pattern[0])
    assert not np.isnan(shown_pattern(page)).any()
    assert "Grey cells" not in page.locator("#pattern-note").text_content()


# ---------------------------------------------------------------------------------------------- /trace
def expected_titles(info: dict) -> list[str]:
    """The steps the page must show, read from the model's own description (GET /api/v1/models/{id})."""
    stages = {st["id"]: st for st in info["stages"]}
    out, last = [], None
    for s in info["steps"]:
        if s["part_of"]:
            continue
        if s["stage"] != last and stages[s["stage"]]["reads_tokens"]:
            out.append(f"{stages[s['stage']]['title']}: token ids")
        last = s["stage"]
        out += [s["title"], *(v["title"] for v in s["views"])]
    return out


# titles each architecture's own components give its steps (independent of the page: the model side declares them)
MUST = {"gpt2": ["Activation (GELU, tanh form)", "Layer norm (ln1) before attention: normalize"],
        "neox": ["Block output: stream + attention + FFN", "Rotary: rotate the queries"],
        "llama": ["RMS norm (ln1) before attention: divide by the RMS", "FFN gate projection (d_model 64 → d_mlp 96)",
                  "Activation (SwiGLU: silu(gate) ⊙ linear)"],
        "bert": ["Add the token-type vector", "Layer norm of the embeddings (ln_embed): normalize",
                 "MLM head: dense layer (d_model 64 → 64)", "Softmax → token probabilities"],
        "marian": ["Encoder output (memory)", "Cross-attention: Q, K, V", "Decoder: add the position vector"]}


@pytest.mark.parametrize("role", ["gpt2", "neox", "llama", "bert", "marian"])
def test_trace_steps_through_every_step(page, hf_server, role):
    base, ids = hf_server
    model = ids[role]
    info = api(base, f"/api/v1/models/{model}")
    query = {"model": model, "text": SOURCE if role == "marian" else TEXT, "head": 3}
    if role == "marian":
        query["target"] = TARGET
    open_page(page, base, "/trace", **query)
    titles = expected_titles(info)
    assert page.locator("#step-list li").all_text_contents() == titles
    assert all(t in titles for t in MUST[role]), [t for t in MUST[role] if t not in titles]
    names = {a["name"] for a in info["activation_names"]}
    step, total = step_count(page)
    assert (step, total) == (1, len(titles))
    for i in range(1, total + 1):
        assert step_count(page) == (i, total)
        assert page.locator("#step-title").text_content() == titles[i - 1]
        name = page.locator("#step-name").text_content().split()[0]
        if name != "tokens":
            assert name in names
            assert page.locator("#plot-main .hm image").count() == 1, f"empty heatmap at step {i}: {titles[i - 1]}"
        if role == "neox" and name == "blocks.0.attn.hook_rot_q":  # Pythia rotates a quarter of each head
            assert "first 4 of 16 dimensions" in page.locator("#step-text").text_content()
        if role == "llama" and name == "blocks.0.attn.hook_q":  # query head 3 reads key/value head 3 // 2
            side = page.evaluate("() => document.getElementById('plot-side').layout.title.text")
            assert "key/value head 1" in side, side
        if role == "llama" and name == "blocks.0.ln1.hook_normalized":  # RMSNorm: the token's scale, no mean
            facts = page.locator("#step-text").text_content().rsplit("”:", 1)[1]
            assert facts.startswith(" scale ") and "mean" not in facts
        if i in (4, total // 2):
            screenshot(page, f"hf-trace-{role}-step{i}")
        if i < total:
            page.keyboard.press("ArrowRight")
            wait_ready(page, timeout=SLOW)
    # the last step: the top-10 probabilities after the last token are the API's
    assert page.locator("#step-name").text_content().startswith("hook_probs")
    body = {**{k: v for k, v in query.items() if k in ("model", "text", "target")}, "names": ["hook_probs"], "precision": 4}
    probs = np.array(api(base, "/api/v1/trace", body)["activations"]["hook_probs"]["data"][-1])
    np.testing.assert_array_equal(np.array(plot_data(page, "plot-side", "y")), np.sort(probs)[::-1][:10])
    # the bars are labelled with the tokens (a subword model's are asked for by id), a space shown as ·
    best = api(base, f"/api/v1/models/{model}/tokens?ids={int(probs.argmax())}")["tokens"][0]["token"]
    label = page.evaluate("() => document.getElementById('plot-side').layout.xaxis.ticktext[0]")
    assert label == html.escape(best.replace(" ", "·"), quote=False) and not label.startswith("#")  # Plotly text
    screenshot(page, f"hf-trace-{role}-last")
    page.set_viewport_size({"width": 390, "height": 900})
    page.keyboard.press("ArrowLeft")
    wait_ready(page)
    assert page.evaluate("() => document.documentElement.scrollWidth") <= 390
    screenshot(page, f"hf-trace-{role}-390")
