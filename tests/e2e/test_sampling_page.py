"""/sampling in headless Chromium: what the sliders show equals transformers' warpers applied to the API's logits
and the server's own filtered distribution; Step appends the model's seeded choice; the URL reproduces the view;
hostile text stays text."""
from __future__ import annotations

from urllib.parse import quote

import numpy as np

from tests.hf_reference import hf_filter

from .conftest import screenshot, wait_ready
from .helpers import api

GPT, TRANSLATOR = "tiny-gpt", "tiny-translator"
PROMPT = "the girl dropped the cup . it"
HOSTILE = "<img src=x onerror=alert(1)>"


def np_filter(logits, temperature, top_k=None, top_p=None):
    """(base, probs, cut_by_top_k, cut_by_top_p, entropy) from transformers' own warpers (tests/hf_reference.py),
    the reference both the server and the page's filtering.js follow."""
    r = hf_filter(logits, temperature, top_k, top_p)
    return r["base"], r["probs"], r["cut_by_top_k"], r["cut_by_top_p"], r["entropy"]


def shown(page):
    rows = page.evaluate("""() => [...document.querySelectorAll('#cand-table tr[data-id]')]
        .map((tr) => [Number(tr.dataset.id), Number(tr.dataset.prob), Number(tr.dataset.base)])""")
    stats = page.evaluate("() => ({...document.getElementById('stats').dataset})")
    bars = page.evaluate("() => Array.from(document.getElementById('plot-probs').data[1].y)")
    return rows, {k: float(v) for k, v in stats.items()}, bars


def set_slider(page, sel, value):
    page.evaluate("([s, v]) => { const e = document.querySelector(s); e.value = String(v); e.dispatchEvent(new Event('input', {bubbles: true})); e.dispatchEvent(new Event('change', {bubbles: true})); }", [sel, value])


def open_page(page, server, query=""):
    page.goto(f"{server}/sampling{query}")
    wait_ready(page)


def test_temperature_slider_shows_recomputed_probabilities(page, server):
    open_page(page, server, f"?model={GPT}&text=" + PROMPT.replace(" ", "+"))
    logits = api(server, "/api/v1/next-token", {"model": GPT, "text": PROMPT, "temperature": 1, "full": True})["logits"]
    # move the temperature slider with the keyboard: 1.00 -> 0.50 in ten steps of 0.05
    page.focus("#temperature")
    for _ in range(10):
        page.keyboard.press("ArrowLeft")
    assert page.text_content("#temperature-out") == "0.50"
    rows, stats, bars = shown(page)
    base, probs, _, _, entropy = np_filter(logits, 0.5)
    ids = [r[0] for r in rows]
    assert ids == list(np.lexsort((np.arange(len(base)), -base))[: len(ids)])
    np.testing.assert_allclose([r[1] for r in rows], probs[ids], rtol=0, atol=1e-9)
    np.testing.assert_allclose(bars, probs[ids], rtol=0, atol=1e-9)
    assert abs(stats["entropy"] - entropy) < 1e-9
    server_view = api(server, "/api/v1/next-token", {"model": GPT, "text": PROMPT, "temperature": 0.5})
    for c in server_view["candidates"]:
        assert abs(dict((r[0], r[1]) for r in rows)[c["id"]] - c["prob"]) < 1e-6
    assert abs(stats["entropy"] - server_view["entropy"]) < 1e-6
    # hotter: flatter distribution, higher entropy
    set_slider(page, "#temperature", 2)
    _, hot, _ = shown(page)
    assert hot["entropy"] > stats["entropy"]
    screenshot(page, "sampling-tiny-gpt")


def test_top_k_and_top_p_cut_the_same_mass_as_the_server(page, server):
    open_page(page, server, f"?model={GPT}&text=" + PROMPT.replace(" ", "+"))
    logits = api(server, "/api/v1/next-token", {"model": GPT, "text": PROMPT, "temperature": 1, "full": True})["logits"]
    set_slider(page, "#temperature", 1.5)
    set_slider(page, "#top-k", 6)
    set_slider(page, "#top-p", 0.7)
    rows, stats, _ = shown(page)
    _, probs, cut_k, cut_p, entropy = np_filter(logits, 1.5, 6, 0.7)
    server_view = api(server, "/api/v1/next-token", {"model": GPT, "text": PROMPT, "temperature": 1.5, "top_k": 6, "top_p": 0.7, "full": True})
    assert abs(stats["cutByTopK"] - cut_k) < 1e-9 and abs(stats["cutByTopK"] - server_view["cut_by_top_k"]) < 1e-6
    assert abs(stats["cutByTopP"] - cut_p) < 1e-9 and abs(stats["cutByTopP"] - server_view["cut_by_top_p"]) < 1e-6
    assert stats["kept"] == np.count_nonzero(probs) == len(server_view["candidates"])
    assert cut_k > 0 and cut_p > 0  # both filters did something on this input
    np.testing.assert_allclose([r[1] for r in rows], probs[[r[0] for r in rows]], atol=1e-9)
    np.testing.assert_allclose(server_view["probs"], probs, atol=1e-6)
    assert abs(stats["entropy"] - entropy) < 1e-9
    assert page.locator("#cand-table tr.cut").count() == len(rows) - stats["kept"]
    screenshot(page, "sampling-tiny-gpt-filters")


def test_step_appends_the_servers_seeded_choice(page, server):
    open_page(page, server, f"?model={GPT}&text=" + PROMPT.replace(" ", "+") + "&temperature=1.2&seed=7")
    expected = api(server, "/api/v1/generate", {"model": GPT, "text": PROMPT, "max_new_tokens": 1, "temperature": 1.2, "seed": 7})
    page.click("#step")
    wait_ready(page)
    entry = page.locator("#step-log li").first
    token = expected["steps"][0]["token"]
    assert entry.get_attribute("data-token") == token
    assert abs(float(entry.get_attribute("data-prob")) - expected["steps"][0]["prob"]) < 1e-6
    assert page.input_value("#text") == f"{PROMPT} {token}"
    # the page now shows the distribution after the appended word
    after = api(server, "/api/v1/next-token", {"model": GPT, "text": f"{PROMPT} {token}", "temperature": 1})
    rows, _, _ = shown(page)
    top = max(after["candidates"], key=lambda c: c["prob"])
    assert rows[0][0] == top["id"]
    assert page.locator("#prompt-view .new").all_text_contents() == [token]
    # a second step uses the next seed
    second = api(server, "/api/v1/generate", {"model": GPT, "text": f"{PROMPT} {token}", "max_new_tokens": 1, "temperature": 1.2, "seed": 8})
    page.click("#step")
    wait_ready(page)
    assert page.locator("#step-log li").nth(1).get_attribute("data-token") == second["steps"][0]["token"]


def test_subword_step_writes_the_token_as_text(page, server):
    """On the byte-level BPE default model a token carries its own leading space or none: Step writes exactly the
    text the server's generation decoded (no extra space before " word", none inside "walk" + "ing")."""
    model = "english-gpt"
    for prompt in ("After the dinner party, the two sisters walked home through the par", "She opened the"):
        open_page(page, server, f"?model={model}&text={quote(prompt)}&top_k=1")
        gen = api(server, "/api/v1/generate", {"model": model, "text": prompt, "max_new_tokens": 1, "top_k": 1})
        page.click("#step")
        wait_ready(page)
        assert page.input_value("#text") == prompt + gen["text"], (prompt, gen["tokens"])
        after = api(server, "/api/v1/tokenize", {"model": model, "text": prompt + gen["text"]})["input_ids"]
        assert after[-1] == gen["steps"][0]["id"], (prompt, gen["tokens"])  # read back as the token chosen


def test_url_reproduces_the_view(page, server, browser):
    open_page(page, server, f"?model={GPT}&text=" + PROMPT.replace(" ", "+"))
    set_slider(page, "#temperature", 0.7)
    set_slider(page, "#top-k", 4)
    set_slider(page, "#top-p", 0.9)
    url = page.url
    assert "temperature=0.7" in url and "top_k=4" in url and "top_p=0.9" in url
    before = shown(page)
    other = browser.new_page()
    try:
        other.goto(url)
        wait_ready(other)
        assert shown(other) == before
        assert other.input_value("#temperature") == "0.7"
    finally:
        other.close()


def test_hostile_text_is_shown_as_text(page, server):
    open_page(page, server, f"?model={GPT}")
    page.fill("#text", f"the cat {HOSTILE}")
    page.click("#run")
    wait_ready(page)
    assert page.locator("img").count() == 0
    assert "<unk>" in page.text_content("#prompt-view")
    page.wait_for_timeout(300)  # an onerror alert would be caught by the page fixture


def test_translator_step_extends_the_target(page, server):
    source, target = "the red cat sees the big dog", "le chat"
    open_page(page, server, f"?model={TRANSLATOR}&text=" + source.replace(" ", "+") + "&target=" + target.replace(" ", "+") + "&seed=3")
    out = api(server, "/api/v1/next-token", {"model": TRANSLATOR, "text": source, "target": target, "temperature": 1, "full": True})
    rows, stats, _ = shown(page)
    _, probs, _, _, entropy = np_filter(out["logits"], 1.0)
    np.testing.assert_allclose([r[1] for r in rows], probs[[r[0] for r in rows]], atol=1e-9)
    assert abs(stats["entropy"] - out["entropy"]) < 1e-6
    screenshot(page, "sampling-tiny-translator")
    page.click("#step")
    wait_ready(page)
    token = page.locator("#step-log li").first.get_attribute("data-token")
    vocab = api(server, f"/api/v1/models/{TRANSLATOR}")["vocab"]
    assert probs[vocab.index(token)] > 0  # drawn from the model's distribution
    assert page.input_value("#target") == f"{target} {token}"
    assert page.input_value("#text") == source


def test_unknown_words_are_marked_in_the_prompt(page, server):
    # <unk> exists only in a word-level course model's vocabulary (the default byte-level model has none)
    text = "the zorblax sees the cat"
    open_page(page, server, f"?model={GPT}&text={quote(text)}")
    tokens = api(server, "/api/v1/next-token", {"model": "tiny-gpt", "text": text, "temperature": 1.0})["tokens"]
    spans = page.locator("#prompt-view span:not(.muted)")
    assert spans.all_text_contents() == tokens
    unk = [i for i, t in enumerate(tokens) if t == "<unk>"]
    assert unk == [2]
    assert [i for i in range(spans.count()) if "unk" in (spans.nth(i).get_attribute("class") or "").split()] == unk
    note = page.locator("#unk-note")
    assert note.is_visible() and note.get_attribute("data-count") == "1"
