"""The default model (english-gpt, byte-level BPE, rotary positions) on the pages that had word-level or
learned-position assumptions: /trace steps through its subword tokens with their real ids and without a position
vector it does not have; /attention opens on its own example (a repeated passage) and says what its heads do with
the head-label endpoint's numbers; every model menu shows the chosen model's description; /compare opens on a
removal pair."""
from __future__ import annotations

import json

import pytest

from model.zoo import DEFAULT_MODEL

from .conftest import screenshot, wait_ready
from .helpers import CHECKPOINTS, api, loaded_model

TEXT = "Grandmother's bakery reopened on Tuesday."


def description(model_id: str) -> str:
    return json.loads((CHECKPOINTS / f"{model_id}.json").read_text())["description"]


@pytest.mark.parametrize("width", [1400, 390])
def test_trace_steps_through_subword_tokens(page, server, width):
    page.set_viewport_size({"width": width, "height": 900})
    page.goto(f"{server}/trace?text={TEXT.replace(' ', '+')}")
    wait_ready(page)
    assert page.input_value("#model") == DEFAULT_MODEL
    lm = loaded_model(DEFAULT_MODEL)
    ids = lm.encode(TEXT)  # the tokenizer in this process: the independent reference for the ids shown
    shown = page.locator('[data-testid="token-id"]').all_text_contents()
    assert [int(x) for x in shown] == list(ids)
    # the token row shows each piece as typed: joined, the pieces after the start token are the text itself
    chips = page.locator(".token-table tr:nth-child(2) td").all_text_contents()
    assert len(chips) == len(ids)
    assert "".join(chips[1:]).replace("·", " ") == TEXT, chips
    titles = page.locator("#step-list li").all_text_contents()
    assert not any("position vector" in t for t in titles)
    assert any("Rotary" in t for t in titles)
    # stepping on works through a block (the rotary rotation is drawn from the API's activation)
    rot = next(i for i, t in enumerate(titles) if "Rotary" in t)
    for _ in range(rot):
        page.click("#next")
        wait_ready(page)
    assert page.locator("body").get_attribute("data-ready") == "true"
    screenshot(page, f"subword-trace-rotary-{width}")


def test_attention_opens_on_repeated_passage_and_says_what_heads_do(page, server):
    page.goto(f"{server}/attention")
    wait_ready(page)
    text = page.input_value("#text")
    half = len(text) // 2
    assert text[:half].strip() == text[half:].strip(), "the default model's example repeats a passage"
    assert page.locator("#model-desc").text_content() == description(DEFAULT_MODEL)
    heads = api(server, f"/api/v1/models/{DEFAULT_MODEL}/heads")
    note = page.locator("#heads-note").text_content()
    for probe in ("previous-token", "induction"):
        best = max(heads["heads"], key=lambda e: e["scores"][probe])
        v = best["scores"][probe]
        assert f"{probe} score {v:.2f}" in note
        said = "looks at" if v >= heads["threshold"] else "no head looks at"
        assert said in note
    # a chip of the second copy is clickable and becomes the query
    chips = page.locator("#chips .chip")
    n = chips.count()
    chips.nth(n - 3).click()
    wait_ready(page)
    assert chips.nth(n - 3).get_attribute("aria-pressed") == "true"


def test_compare_opens_on_a_removal_pair_with_descriptions(page, server):
    page.goto(f"{server}/compare")
    wait_ready(page, timeout=90_000)
    ids = [m["id"] for m in api(server, "/api/v1/models")]
    a, b = page.input_value("#a-model"), page.input_value("#b-model")
    if {"english-gpt-short", "english-gpt-short-no-residual"} <= set(ids):
        assert (a, b) == ("english-gpt-short", "english-gpt-short-no-residual")
    else:
        assert (a, b) == ("tiny-gpt", "tiny-gpt-no-residual")
    assert page.locator("#a-model-desc").text_content() == description(a)
    assert page.locator("#b-model-desc").text_content() == description(b)
    assert "removed" in description(b) or "without" in description(b)
