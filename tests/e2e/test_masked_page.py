"""/sampling on an encoder-only model in headless Chromium: a BERT checkpoint built here (random weights, WordPiece,
save_pretrained) served by its own uvicorn (XRAY_MODELS=hf:<dir>), so the shared e2e server keeps its models.
The page predicts the pressed [MASK] (the first by default, another one by clicking it); what the chart and the
table show equals transformers' warpers applied to the API's logits; Step writes the sampled token in place of
the mask, which the tokenizer reads back as that token; the filling helper round-trips through transformers'
tokenizer for word starts, continuations and special tokens."""
from __future__ import annotations

from urllib.parse import quote

import numpy as np
import pytest

from tests.hf_reference import hf_filter
from tests.model import test_convert_bert

from .conftest import screenshot, serve, wait_ready
from .helpers import api

transformers = pytest.importorskip("transformers")  # the test extra installs it; never skipped there

BERT = "tiny-bert"
TEXT = "a [MASK] stood still in the [MASK] river"


@pytest.fixture(scope="module")
def bert(tmp_path_factory):
    """(base URL of a server of the BERT checkpoint, its directory, transformers' tokenizer of it)."""
    path, _ = test_convert_bert.checkpoint(tmp_path_factory.mktemp("e2e-mlm") / BERT)
    with serve("bert", XRAY_MODELS=f"hf:{path}", HF_HUB_OFFLINE="1") as base:
        yield base, path, transformers.AutoTokenizer.from_pretrained(path)


def masked(base, text, **kw):
    return api(base, "/api/v1/masked-token", {"model": BERT, "text": text, "full": True, "temperature": 1, **kw})


def shown(page):
    rows = page.evaluate("""() => [...document.querySelectorAll('#cand-table tr[data-id]')]
        .map((tr) => [Number(tr.dataset.id), Number(tr.dataset.prob)])""")
    bars = page.evaluate("() => Array.from(document.getElementById('plot-probs').data[1].y)")
    return rows, bars


def masks_on_page(page):
    return page.evaluate("""() => [...document.querySelectorAll('#prompt-view .mask-tok')]
        .map((b) => [Number(b.dataset.position), b.getAttribute('aria-pressed')])""")


def set_slider(page, sel, value):
    page.evaluate("([s, v]) => { const e = document.querySelector(s); e.value = String(v); e.dispatchEvent(new Event('input', {bubbles: true})); e.dispatchEvent(new Event('change', {bubbles: true})); }", [sel, value])


def check_chart(page, logits, temperature=1.0, top_k=None, top_p=None):
    """The table and the bars: the 20 highest logits (filtered ones shown as cut, at 0), with transformers'
    filtered probabilities."""
    want = hf_filter(logits, temperature, top_k, top_p)["probs"]
    rows, bars = shown(page)
    ids = [r[0] for r in rows]
    assert ids == np.lexsort((np.arange(len(logits)), -np.asarray(logits)))[:20].tolist()
    np.testing.assert_allclose([r[1] for r in rows], want[ids], rtol=0, atol=1e-9)  # both float64 of the same logits
    np.testing.assert_allclose(bars, want[ids], rtol=0, atol=1e-9)
    return want


def open_page(page, base, text=TEXT, extra=""):
    page.goto(f"{base}/sampling?model={BERT}&text={quote(text)}{extra}")
    wait_ready(page)


def test_pick_a_mask_filter_and_fill_it(page, bert):
    base, _, tok = bert
    open_page(page, base)
    first = masked(base, TEXT)
    assert first["mask_positions"] == [2, 7]
    assert masks_on_page(page) == [[2, "true"], [7, "false"]]  # the first [MASK] is predicted by default
    assert page.text_content("#run") == "Predict the [MASK]"
    assert "encoder" in page.text_content("#mode-note") and "position 2" in page.text_content("#status")
    check_chart(page, first["logits"])
    # WordPiece pieces read as text: the input's word starts carry their (quiet) space
    assert page.locator("#prompt-view .tok").first.text_content() == "[CLS]"
    assert "·stood" in page.text_content("#prompt-view")

    page.click('#prompt-view .mask-tok[data-position="7"]')
    wait_ready(page)
    assert masks_on_page(page) == [[2, "false"], [7, "true"]]
    assert "position=7" in page.url
    second = masked(base, TEXT, position=7)
    check_chart(page, second["logits"])
    assert "position 7" in page.evaluate("() => document.getElementById('plot-probs').layout.title.text")

    # sliders re-filter in the page: colder and top-k 1 leave one token, the argmax
    page.focus("#temperature")
    for _ in range(10):
        page.keyboard.press("ArrowLeft")
    assert page.text_content("#temperature-out") == "0.50"
    check_chart(page, second["logits"], 0.5)
    set_slider(page, "#top-k", 1)
    want = check_chart(page, second["logits"], 0.5, top_k=1)
    assert page.text_content("#stat-kept").startswith("1 of ")
    screenshot(page, "sampling-bert-1400")

    # Step with top-k 1: the argmax, written in place of the second [MASK]; the page moves on to the first
    best = int(np.argmax(want))
    page.click("#step")
    wait_ready(page)
    entry = page.locator("#step-log li").first
    assert entry.get_attribute("data-seed") == "0"
    assert second["candidates"][0]["id"] == best == int(entry.get_attribute("data-id"))
    assert entry.get_attribute("data-token") == second["candidates"][0]["token"]
    assert "position 7" in entry.text_content() and "written in place of the [MASK]" in entry.text_content()
    filled_text = page.input_value("#text")
    assert filled_text.count("[MASK]") == 1 and filled_text.startswith("a [MASK] stood still in the")
    ids = tok(filled_text)["input_ids"]
    assert ids == tok(TEXT)["input_ids"][:7] + [best] + tok(TEXT)["input_ids"][8:]  # reads back as the choice
    assert masks_on_page(page) == [[2, "true"]]
    assert page.locator("#prompt-view .new").count() == 1  # the filled token, highlighted
    check_chart(page, masked(base, filled_text)["logits"], 0.5, top_k=1)
    assert page.input_value("#seed") == "1"

    # the last [MASK]: with no filter, a seeded draw among all tokens; the page says everything is filled
    set_slider(page, "#top-k", page.evaluate("() => document.getElementById('top-k').max"))
    page.click("#step")
    wait_ready(page)
    last = page.locator("#step-log li").nth(1)
    chosen = int(last.get_attribute("data-id"))
    probs = hf_filter(masked(base, filled_text)["logits"], 0.5)["probs"]
    assert probs[chosen] > 0 and abs(float(last.get_attribute("data-prob")) - probs[chosen]) < 1e-9
    final = page.input_value("#text")
    assert tok(final)["input_ids"] == ids[:2] + [chosen] + ids[3:], (final, last.get_attribute("data-token"))
    assert "[MASK]" not in page.input_value("#text")
    assert "Every [MASK] is filled" in page.text_content("#status")
    assert page.is_disabled("#step")
    screenshot(page, "sampling-bert-filled")


def test_same_seed_same_token(page, bert):
    """Two fresh pages with the same link and seed fill the mask with the same token; another seed can differ."""
    base, _, _ = bert
    text = "the harbour [MASK] lit up"
    got = []
    for seed in (3, 3, 4, 5, 6, 7):
        open_page(page, base, text, f"&temperature=2&seed={seed}")
        page.click("#step")
        wait_ready(page)
        got.append(page.locator("#step-log li").first.get_attribute("data-token"))
        # every draw is a token the filtered distribution gives a probability > 0 (here: all of them at T = 2)
        assert float(page.locator("#step-log li").first.get_attribute("data-prob")) > 0
    assert got[0] == got[1] and len(set(got)) > 1


def test_narrow_screen(browser, bert):
    base, _, _ = bert
    context = browser.new_context(viewport={"width": 390, "height": 844}, device_scale_factor=1)
    page = context.new_page()
    try:
        open_page(page, base)
        page.click('#prompt-view .mask-tok[data-position="7"]')
        wait_ready(page)
        width = page.evaluate("() => document.documentElement.scrollWidth")
        assert width <= 390, f"the page scrolls sideways ({width} px)"
        box = page.locator('#prompt-view .mask-tok[data-position="7"]').bounding_box()
        assert box and box["x"] >= 0 and box["x"] + box["width"] <= 390
        screenshot(page, "sampling-bert-390")
    finally:
        context.close()


def test_text_without_mask_says_what_to_do(page, bert):
    base, _, _ = bert
    page.xray_allow_console(r"status of 422")
    page.goto(f"{base}/sampling?model={BERT}&text={quote('the harbour lit up')}")
    wait_ready(page, state="true")  # the link's view falls back to the model's example, which has a [MASK]
    assert "no [MASK] token" in page.text_content("#notice")
    assert masks_on_page(page) == [[page.evaluate("() => window.__xray.data().position"), "true"]]
    page.fill("#text", "the harbour lit up")
    page.click("#run")
    wait_ready(page, state="error")
    assert "write [MASK] (exactly so)" in page.text_content("#error")


FILL = """async ([cases]) => {
  const f = await import('/static/js/fill-mask.js');
  return cases.map(([text, ordinal, token, special]) => f.fillMask(text, '[MASK]', ordinal, token, special));
}"""


def test_filling_reads_back_as_the_token(page, bert):
    """fill-mask.js on every kind of piece: the filled text, tokenized by transformers, holds the chosen id where
    the mask was (a word start, a ## continuation, a special token; a mask glued to a word or to punctuation)."""
    base, path, tok = bert
    from model.registry import ModelRegistry
    vocab = ModelRegistry(f"hf:{path}").model(BERT).tokenizer.vocab  # the display strings the API sends
    pieces = tok.convert_ids_to_tokens(range(len(tok)))
    cont = next(i for i, p in enumerate(pieces) if p.startswith("##") and len(p) > 3)
    word = tok.convert_tokens_to_ids("harbour")
    sep = tok.sep_token_id
    assert vocab[cont] == tok.convert_ids_to_tokens(cont)[2:] and vocab[word] == " harbour" and vocab[sep] == "[SEP]"
    cases = [("the [MASK] wall", 0, word, False), ("the wall[MASK] and", 0, word, False),
             ("the ([MASK]) wall", 0, word, False), ("a [MASK] and a [MASK] wall", 1, word, False),
             ("the wall [MASK] and", 0, cont, False), ("the wall[MASK]", 0, cont, False),
             ("the wall [MASK] and", 0, sep, True), ("the wall[MASK] and", 0, sep, True)]
    open_page(page, base)
    out = page.evaluate(FILL, [[(t, k, vocab[i], s) for t, k, i, s in cases]])
    for (text, k, i, _), filled in zip(cases, out):
        before, after = tok(text)["input_ids"], tok(filled)["input_ids"]
        at = [j for j, t in enumerate(before) if t == tok.mask_token_id][k]
        assert after == before[:at] + [i] + before[at + 1:], (text, vocab[i], filled)
    none = "async () => (await import('/static/js/fill-mask.js')).fillMask('no mask', '[MASK]', 0, ' x')"
    assert page.evaluate(none) is None
