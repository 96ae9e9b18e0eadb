"""/tokenizer in Chromium: a sentence typed key by key is shown token by token as it is typed, on a byte-level BPE
model (the shipped english-bpe tokenizer; random weights do not change how text is cut: tests/bpe_checkpoint.py)
and on the word-level tiny-gpt, whose unknown words are marked. At 1400 px and 390 px the page never scrolls
sideways. The page's state (model, text, chosen piece) reopens from its URL.

This module runs its own server on a checkpoint folder with the BPE test model (the session server serves the
shipped checkpoints)."""
from __future__ import annotations

import time
from urllib.parse import parse_qs, urlparse

import pytest

from tests.bpe_checkpoint import BPE_MODEL, WORD_MODEL, write_bpe_checkpoints

from .conftest import screenshot, serve, wait_ready
from .helpers import api
from .test_every_page import CHECK

# Written for this test; not in the corpus the english model was trained on (grep of artifacts/corpus/*.jsonl for
# "robot vacuum", "stray sock", "vacuum adopted": no match).
SENTENCE = "My neighbour's robot vacuum adopted a stray sock on Tuesday."
FIRST_WORDS = "My neighbour's robot"

CHIPS = """() => [...document.querySelectorAll('#tok-chips .tok-chip')].map((c) => ({
  token: c.querySelector('.tok-piece').dataset.token,
  shown: c.querySelector('.tok-piece').textContent,
  id: Number(c.querySelector('.tok-id').textContent),
  hex: (c.querySelector('.tok-hex') || {}).textContent || null,
  unk: c.classList.contains('unk'),
}))"""


@pytest.fixture(scope="module")
def bpe_server(tmp_path_factory):
    directory = write_bpe_checkpoints(tmp_path_factory.mktemp("checkpoints"))
    with serve("tokenizer", XRAY_CHECKPOINT_DIR=str(directory), XRAY_DEFAULT_MODEL=BPE_MODEL, XRAY_MODELS=None) as base:
        yield base


def chips_when(page, expected_text: str, timeout_s: float = 30.0) -> list[dict]:
    """The chips once their exact tokens, joined, are `expected_text` (the page re-tokenizes after typing stops)."""
    deadline = time.monotonic() + timeout_s
    chips = []
    while time.monotonic() < deadline:
        chips = page.evaluate(CHIPS)
        if chips and "".join(c["token"] for c in chips) == expected_text and page.get_attribute("body", "data-ready") == "true":
            return chips
        page.wait_for_timeout(100)
    raise AssertionError(f"chips never became {expected_text!r}: {[c['token'] for c in chips]}")


def no_sideways_scroll(page) -> None:
    problems = page.evaluate(CHECK)
    assert not problems, problems
    assert page.evaluate("() => document.documentElement.scrollWidth <= document.documentElement.clientWidth")


@pytest.mark.parametrize("width", [1400, 390])
def test_typed_sentence_is_shown_token_by_token(page, bpe_server, width):
    page.set_viewport_size({"width": width, "height": 1000})
    page.goto(f"{bpe_server}/tokenizer?model={BPE_MODEL}")
    wait_ready(page)
    assert page.locator('nav a[href="/tokenizer"]').get_attribute("aria-current") == "page"  # linked from the nav
    box = page.locator("#text")
    box.fill("")
    box.press_sequentially(FIRST_WORDS, delay=15)
    first = chips_when(page, FIRST_WORDS)  # shown while typing, before the sentence is finished
    box.press_sequentially(SENTENCE[len(FIRST_WORDS):], delay=15)
    chips = chips_when(page, SENTENCE)
    assert len(chips) > len(first)
    # the ids are the tokenizer's own (asked of the API directly, which the API tests check against encode)
    ref = api(bpe_server, "/api/v1/tokenize", {"model": BPE_MODEL, "text": SENTENCE})["tokens"]
    assert [c["id"] for c in chips] == [t["id"] for t in ref]
    assert [c["token"] for c in chips] == [t["piece"] for t in ref]
    # what is shown is the text, with each space a quiet mark in front of its word; nothing unknown
    assert "".join(c["shown"] for c in chips).replace("·", " ") == SENTENCE
    assert not any(c["unk"] or "<unk>" in c["shown"] for c in chips)
    assert page.locator("#unk-note").is_hidden()
    marks = page.locator("#tok-chips .tok-piece .tok-quiet")
    assert marks.count() == SENTENCE.count(" ") and marks.first.is_visible() and marks.first.text_content() == "·"
    # the text view holds the same characters, each token's span shaded
    spans = page.locator("#tok-text .tok-span")
    assert spans.count() == len(chips)
    assert "".join(page.evaluate("() => [...document.querySelectorAll('#tok-text .tok-span')].map((s) => s.dataset.token)")) == SENTENCE
    no_sideways_scroll(page)
    screenshot(page, f"tokenizer-typed-{width}")


def test_choosing_a_piece_links_chip_text_and_url(page, bpe_server):
    page.goto(f"{bpe_server}/tokenizer?model={BPE_MODEL}")
    wait_ready(page)
    page.locator("#text").fill(SENTENCE)
    chips_when(page, SENTENCE)
    page.locator("#tok-chips .tok-chip").nth(3).click()
    assert page.locator("#tok-chips .tok-chip").nth(3).get_attribute("aria-pressed") == "true"
    assert page.locator("#tok-text .tok-span.sel").count() == 1
    assert page.locator("#tok-text .tok-span.sel").get_attribute("data-i") == "3"
    assert "Piece 4 of" in page.text_content("#tok-detail")
    query = parse_qs(urlparse(page.url).query)
    assert query["text"] == [SENTENCE] and query["sel"] == ["3"]
    # the link reopens the same view in a fresh page
    other = page.context.new_page()
    other.goto(page.url)
    wait_ready(other)
    assert other.locator("#text").input_value() == SENTENCE
    assert other.locator("#tok-chips .tok-chip").nth(3).get_attribute("aria-pressed") == "true"
    other.close()


def chips_of(page, base: str, model: str, text: str, timeout_s: float = 30.0) -> tuple[list[dict], list[dict]]:
    """(chips, the API's tokens) once the page shows the tokens of `text` (their ids, asked of the API directly)."""
    ref = api(base, "/api/v1/tokenize", {"model": model, "text": text})["tokens"]
    deadline = time.monotonic() + timeout_s
    while True:
        chips = page.evaluate(CHIPS)
        if page.get_attribute("body", "data-ready") == "true" and [c["id"] for c in chips] == [t["id"] for t in ref]:
            return chips, ref
        assert time.monotonic() < deadline, (text, [c["token"] for c in chips])
        page.wait_for_timeout(100)


def test_emoji_and_right_to_left_examples_show_byte_pieces(page, bpe_server):
    page.set_viewport_size({"width": 390, "height": 1000})
    page.goto(f"{bpe_server}/tokenizer?model={BPE_MODEL}")
    wait_ready(page)
    page.get_by_role("button", name="Emoji").click()
    text = page.locator("#text").input_value()
    chips, ref = chips_of(page, bpe_server, BPE_MODEL, text)
    dog = [i for i, t in enumerate(ref) if t["start"] == text.index("🐕")]  # offsets are code-point indices
    assert len(dog) > 1 and b"".join(bytes(ref[i]["bytes"]) for i in dog) == "🐕".encode()
    assert " ".join(chips[i]["hex"] for i in dog) == "F0 9F 90 95"  # the dog's four UTF-8 bytes, under its pieces
    assert page.text_content("#tok-text").count("🐕") == 1  # the text view shows the emoji whole, once
    no_sideways_scroll(page)
    screenshot(page, "tokenizer-emoji-390")
    page.get_by_role("button", name="Right to left").click()
    rtl = page.locator("#text").input_value()
    chips, ref = chips_of(page, bpe_server, BPE_MODEL, rtl)
    assert any(c["hex"] for c in chips) and not any(c["unk"] for c in chips)
    # the Hebrew and Arabic words are in the text view as typed, in reading order
    assert page.text_content("#tok-text").replace("·", " ") == rtl
    no_sideways_scroll(page)
    screenshot(page, "tokenizer-rtl-390")


def test_word_level_model_marks_unknown_words(page, bpe_server):
    page.goto(f"{bpe_server}/tokenizer?model={WORD_MODEL}")
    wait_ready(page)
    page.locator("#text").fill(SENTENCE)
    chips, ref = chips_of(page, bpe_server, WORD_MODEL, SENTENCE)
    assert [c["unk"] for c in chips] == [t["unknown"] for t in ref] and any(c["unk"] for c in chips)
    assert all(c["token"] == "<unk>" for c in chips if c["unk"])
    assert page.locator("#unk-note").is_visible()
    assert page.locator("#tok-text .tok-span.unk").count() == sum(c["unk"] for c in chips)
    assert page.locator("#explain-word").is_visible() and page.locator("#explain-bytes").is_hidden()
    no_sideways_scroll(page)
    screenshot(page, "tokenizer-word-level-1400")


def test_a_text_without_tokens_shows_the_api_message(page, bpe_server):
    page.xray_allow_console(r"Failed to load resource: the server responded with a status of 422")
    page.goto(f"{bpe_server}/tokenizer?model={WORD_MODEL}")
    wait_ready(page)
    page.fill("#text", "   ")  # the word-level tokenizer skips white space: no token at all
    page.click("#run")
    page.wait_for_selector('body[data-ready="error"]', state="attached", timeout=30_000)
    assert page.locator("#error").is_visible() and "no tokens" in page.text_content("#error")
    page.fill("#text", "the cat")  # a good text clears it
    page.click("#run")
    chips, _ = chips_of(page, bpe_server, WORD_MODEL, "the cat")
    assert [c["token"] for c in chips] == ["the", "cat"] and page.locator("#error").is_hidden()


@pytest.mark.parametrize("width", [1400, 390])
def test_the_shipped_models_open_the_page(page, server, width):
    """On the session server (the shipped checkpoints): the default model and the translator (its source-side
    tokenizer) open /tokenizer with their tokens drawn, and nothing sticks out of the window."""
    page.set_viewport_size({"width": width, "height": 900})
    for model_id in (api(server, "/api/v1/models")[0]["id"], "tiny-translator"):
        page.goto(f"{server}/tokenizer?model={model_id}")
        wait_ready(page)
        text = page.locator("#text").input_value()
        chips_of(page, server, model_id, text)
        assert page.text_content("#error") in ("", None)
        no_sideways_scroll(page)
    screenshot(page, f"tokenizer-translator-{width}")
