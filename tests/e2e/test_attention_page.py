"""/attention in headless Chromium: the weights the page shows are the model's (API and an in-process torch
recomputation), clicking / arrow keys / the grid change the view, the URL reproduces it, hostile text stays text."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from model.transformer import run_with_cache

from model.zoo import DEFAULT_MODEL

from .conftest import screenshot, wait_ready
from .helpers import api, loaded_model

GPT, TRANSLATOR = "tiny-gpt", "tiny-translator"
SENTENCE = "the dog that the cats chase runs . the boy found the ball . it rolled ."


def table_weights(page) -> dict[str, list[float]]:
    """{head ('0'.., 'mean'): [weight per key]} as the page's exact-weights table shows them."""
    return page.evaluate("""() => Object.fromEntries([...document.querySelectorAll('#weights-table tr[data-head]')]
        .map((tr) => [tr.dataset.head, [...tr.querySelectorAll('td')].map((td) => td.dataset.value === '' ? null : Number(td.dataset.value))]))""")


def plot_z(page, el_id: str):
    return page.evaluate(f"() => document.getElementById('{el_id}').data[0].z")


def causal_view(m: np.ndarray) -> np.ndarray:
    """How a causal pattern is drawn: weights of later keys (exactly 0) become masked cells (null -> nan)."""
    assert np.all(m[np.triu_indices(m.shape[0], 1)] == 0)
    out = m.astype(float).copy()
    out[np.triu_indices(m.shape[0], 1)] = np.nan
    return out


def bar_ys(page) -> dict[str, list[float]]:
    return page.evaluate("""() => Object.fromEntries([...document.querySelectorAll('#head-bars .head-bar')]
        .map((d) => [d.dataset.head, Array.from(d.data[0].y)]))""")


def torch_pattern(model_id: str, text: str, name: str, target: str | None = None) -> np.ndarray:
    """The pattern recomputed in this process from the checkpoint (not through the server)."""
    lm = loaded_model(model_id)
    src = torch.tensor(lm.encode(text))
    tgt = torch.tensor(lm.encode_target(target)) if target is not None else None
    with torch.inference_mode():
        _, cache = run_with_cache(lm.model, src, tgt, names=[name])
    return cache[name].double().numpy()


def run_sentence(page, server, text, model=GPT, target=None):
    page.goto(f"{server}/attention?model={model}")
    wait_ready(page)
    page.fill("#text", text)
    if target is not None:
        page.fill("#target", target)
    page.click("#run")
    wait_ready(page)


def test_click_word_shows_the_models_weights(page, server):
    run_sentence(page, server, SENTENCE)
    chips = page.locator("#chips .chip")
    tokens = api(server, "/api/v1/trace", {"model": GPT, "text": SENTENCE, "names": ["blocks.0.attn.hook_pattern"]})["tokens"]
    assert chips.all_text_contents() == tokens
    q = tokens.index("runs")
    chips.nth(q).click()
    wait_ready(page)
    assert chips.nth(q).get_attribute("aria-pressed") == "true"
    layer = 1
    page.select_option("#layer", str(layer))
    wait_ready(page)  # the charts redraw a frame apart
    name = f"blocks.{layer}.attn.hook_pattern"
    out = api(server, "/api/v1/trace", {"model": GPT, "text": SENTENCE, "names": [name]})
    pattern = np.array(out["activations"][name]["data"], dtype=float)  # [head, query, key]
    reference = torch_pattern(GPT, SENTENCE, name)
    np.testing.assert_allclose(pattern, reference, atol=1e-4)  # the API is the model

    shown = table_weights(page)
    n_heads = pattern.shape[0]
    assert set(shown) == {*map(str, range(n_heads)), "mean"}
    for h in range(n_heads):
        np.testing.assert_allclose(shown[str(h)], pattern[h, q], rtol=0, atol=0)  # exactly the API's numbers
        np.testing.assert_allclose(shown[str(h)], reference[h, q], atol=1e-4)
        assert abs(sum(shown[str(h)]) - 1) < 1e-3  # a softmax row
        assert all(w == 0 for w in shown[str(h)][q + 1:])  # causal: nothing after the query
    np.testing.assert_allclose(shown["mean"], reference[:, q].mean(0), atol=1e-4)
    bars = bar_ys(page)
    for h in range(n_heads):
        np.testing.assert_allclose(bars[str(h)], pattern[h, q], atol=0)
    # default head is the mean: the big heatmap is the mean over heads, and its selected row is the query
    np.testing.assert_allclose(np.array(plot_z(page, "plot-pattern"), dtype=float), causal_view(reference.mean(0)), atol=1e-4)
    # open head 2 by clicking its bar chart: the heatmap becomes that head's full pattern
    page.locator('#head-bars .head-bar[data-head="2"]').click()
    wait_ready(page)
    np.testing.assert_allclose(np.array(plot_z(page, "plot-pattern"), dtype=float), causal_view(pattern[2]), atol=0)
    assert "head 2" in page.text_content("#pattern-title")
    screenshot(page, "attention-tiny-gpt")


def test_arrow_keys_move_between_tokens(page, server):
    run_sentence(page, server, "the girl dropped the cup . it broke .")
    chips = page.locator("#chips .chip")
    chips.nth(3).click()
    page.keyboard.press("ArrowRight")
    assert page.locator('#chips .chip[aria-pressed="true"]').get_attribute("data-index") == "4"
    page.keyboard.press("ArrowLeft")
    page.keyboard.press("ArrowLeft")
    assert page.locator('#chips .chip[aria-pressed="true"]').get_attribute("data-index") == "2"
    page.keyboard.press("Home")
    assert page.locator('#chips .chip[aria-pressed="true"]').get_attribute("data-index") == "0"
    page.keyboard.press("ArrowLeft")  # stays at the first token
    assert page.locator('#chips .chip[aria-pressed="true"]').get_attribute("data-index") == "0"
    # the weights table follows: row 0 attends only to itself
    shown = table_weights(page)
    assert shown["0"][0] == pytest.approx(1.0, abs=1e-6)
    assert "?token=0" in page.url or "&token=0" in page.url


def test_grid_cell_opens_that_layer_and_head(page, server):
    run_sentence(page, server, SENTENCE)
    cells = page.locator("#grid .grid-cell")
    lm = loaded_model(GPT)
    assert cells.count() == lm.cfg.n_layers * (lm.cfg.n_heads + 1)
    page.locator('#grid .grid-cell[data-layer="1"][data-head="3"]').click()
    wait_ready(page)  # the click redraws the pattern (data-ready goes false at once, true once drawn)
    assert page.input_value("#layer") == "1" and page.input_value("#head") == "3"
    reference = torch_pattern(GPT, SENTENCE, "blocks.1.attn.hook_pattern")
    np.testing.assert_allclose(np.array(plot_z(page, "plot-pattern"), dtype=float), causal_view(reference[3]), atol=1e-4)
    # each small map is the same matrix as its head
    small = page.evaluate("""() => document.querySelector('#grid .grid-cell[data-layer="0"][data-head="1"] .grid-plot').data[0].z""")
    np.testing.assert_allclose(np.array(small, dtype=float), causal_view(torch_pattern(GPT, SENTENCE, "blocks.0.attn.hook_pattern")[1]), atol=1e-4)


def test_url_reproduces_the_view(page, server, browser):
    run_sentence(page, server, SENTENCE)
    page.select_option("#layer", "1")
    page.select_option("#head", "2")
    page.locator("#chips .chip").nth(5).click()
    wait_ready(page)  # each change redraws the charts a frame later: read them once the page says they are drawn
    url = page.url
    before = table_weights(page)
    z_before = plot_z(page, "plot-pattern")
    other = browser.new_page()
    try:
        other.goto(url)
        wait_ready(other)
        assert other.input_value("#text") == SENTENCE
        assert other.input_value("#layer") == "1" and other.input_value("#head") == "2"
        assert other.locator('#chips .chip[aria-pressed="true"]').get_attribute("data-index") == "5"
        assert table_weights(other) == before
        assert plot_z(other, "plot-pattern") == z_before
    finally:
        other.close()


HOSTILE = "<img src=x onerror=alert(1)>"


def test_hostile_input_is_shown_as_text(page, server):
    run_sentence(page, server, f"the cat {HOSTILE} sees")
    assert page.locator("main img").count() == 0
    chips = page.locator("#chips .chip").all_text_contents()
    assert "<unk>" in chips  # words out of the vocabulary are shown as the unknown token
    # a hostile model id in the URL comes back in the API's error message: shown literally, not parsed
    page.goto(f"{server}/attention?model=" + "%3Cimg%20src%3Dx%20onerror%3Dalert(1)%3E")
    page.wait_for_selector('body[data-ready="true"], body[data-ready="error"]', state="attached")
    # the unknown id is replaced by the default model before any request, so the page still works
    assert page.input_value("#model") == DEFAULT_MODEL
    page.evaluate("(h) => { document.getElementById('text').value = h; }", HOSTILE)
    page.click("#run")
    page.wait_for_selector('body[data-ready="true"], body[data-ready="error"]', state="attached")
    assert page.locator("img").count() == 0
    page.wait_for_timeout(300)  # an onerror handler would have fired by now (the dialog fixture fails the test)


def test_translator_cross_attention_is_target_over_source(page, server):
    source = "the red cat sees the big dog"
    page.goto(f"{server}/attention?model={TRANSLATOR}&text=" + source.replace(" ", "+"))
    wait_ready(page)
    target = page.input_value("#target")
    assert target  # the model's own greedy translation fills the empty target
    # a translator opens on cross-attention, on its first head labelled "alignment" (from /heads)
    assert page.input_value("#kind") == "cross"
    heads = api(server, f"/api/v1/models/{TRANSLATOR}/heads")["heads"]
    first = next(e for e in heads if e["name"].endswith(".cross_attn") and "alignment" in e["labels"])
    assert (page.input_value("#layer"), page.input_value("#head")) == (str(first["layer"]), str(first["head"]))
    assert "alignment" in page.text_content("#pattern-title") + page.text_content("#head-scores")
    screenshot(page, "attention-tiny-translator-default")
    page.select_option("#layer", "0")
    wait_ready(page)
    name = "decoder.0.cross_attn.hook_pattern"
    out = api(server, "/api/v1/trace", {"model": TRANSLATOR, "text": source, "target": target, "names": [name]})
    assert page.locator("#chips .chip").all_text_contents() == out["target_tokens"]
    page.locator("#chips .chip").nth(2).click()
    wait_ready(page)
    pattern = np.array(out["activations"][name]["data"], dtype=float)
    reference = torch_pattern(TRANSLATOR, source, name, target)
    np.testing.assert_allclose(pattern, reference, atol=1e-4)
    shown = table_weights(page)
    for h in range(pattern.shape[0]):
        assert shown[str(h)] == list(pattern[h, 2])
        assert len(shown[str(h)]) == len(out["tokens"])  # keys are the source tokens
    headers = page.locator("#weights-table tr").first.locator("th").all_text_contents()[1:]
    assert headers == [f"{i}:{t}" for i, t in enumerate(out["tokens"])]
    screenshot(page, "attention-tiny-translator-cross")
    page.select_option("#kind", "decoder")
    wait_ready(page)
    shown = table_weights(page)
    assert len(shown["0"]) == len(out["target_tokens"])  # decoder self-attention: keys are target tokens
    screenshot(page, "attention-tiny-translator-decoder")


def test_unknown_words_are_marked_and_counted(page, server):
    text = "the zorblax sees the flimflam . it runs"
    run_sentence(page, server, text)
    tokens = api(server, "/api/v1/trace", {"model": GPT, "text": text, "names": ["blocks.0.attn.hook_pattern"]})["tokens"]
    unk = [i for i, t in enumerate(tokens) if t == "<unk>"]
    assert len(unk) == 2  # the two invented words
    chips = page.locator("#chips .chip")
    assert chips.all_text_contents() == tokens
    assert [i for i in range(chips.count()) if "unk" in chips.nth(i).get_attribute("class").split()] == unk
    for i in unk:
        assert "not in the vocabulary" in chips.nth(i).get_attribute("title")
        assert "not in the vocabulary" in page.locator("#weights-table tr").first.locator("th").nth(i + 1).get_attribute("title")
    note = page.locator("#unk-note")
    assert note.is_visible() and note.get_attribute("data-count") == "2"
    assert note.text_content().startswith("2 words of the text are not in the vocabulary")
    screenshot(page, "attention-unknown-words")
    # a sentence with only known words hides the note
    page.fill("#text", "the dog runs")
    page.click("#run")
    wait_ready(page)
    assert not page.locator("#unk-note").is_visible() and page.locator("#chips .chip.unk").count() == 0
