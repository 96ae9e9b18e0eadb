"""Bad input on every page that reads a text: the API's 4xx message appears in the page's error box (never a
silent no-op), the page says it is done (data-ready="error"), and words outside the vocabulary are counted in a
note under the status."""
from __future__ import annotations

import pytest

from .conftest import screenshot, wait_ready
from .helpers import api

GPT, TRANSLATOR = "tiny-gpt", "tiny-translator"
TEXT_PAGES = ["/trace", "/attention", "/logit-lens", "/components/layer-norm", "/components/residual", "/components/ffn",
              "/components/masking", "/sampling", "/compare"]


def submit(page, text: str) -> None:
    page.fill("#text", text)
    page.click("#run")
    page.wait_for_selector('body[data-ready="error"]', state="attached", timeout=30_000)


@pytest.mark.parametrize("path", TEXT_PAGES)
def test_empty_and_too_long_text_show_the_api_message(page, server, path):
    page.xray_allow_console(r"Failed to load resource: the server responded with a status of 422")
    page.goto(f"{server}{path}?model={GPT}")
    wait_ready(page)
    submit(page, "")
    error = page.locator("#error")
    assert error.is_visible() and "empty" in error.text_content()
    n_ctx = api(server, f"/api/v1/models/{GPT}")["config"]["n_ctx"]
    submit(page, " ".join(["the dog runs ."] * (n_ctx // 4 + 1)))
    assert error.is_visible() and str(n_ctx) in error.text_content(), error.text_content()
    assert page.locator("#status").text_content() in ("", None)  # no stale "Running…" or old summary
    if path == "/components/ffn":
        screenshot(page, "ffn-error-too-long")
    # a good text afterwards clears the error
    page.fill("#text", "the dog runs")
    page.click("#run")
    wait_ready(page)
    assert error.text_content() == "" and not error.is_visible()


# One unknown source word for both models, plus one unknown target word for the translator. The logit lens reads
# the decoder side only (its rows are the target tokens); the masking page shows one layer's keys.
UNKNOWN = {GPT: {"/trace": 1, "/logit-lens": 1, "/components/layer-norm": 1, "/components/residual": 1,
                 "/components/ffn": 1, "/components/masking": 1},
           TRANSLATOR: {"/trace": 2, "/logit-lens": 1, "/components/layer-norm": 2, "/components/residual": 2,
                        "/components/ffn": 2, "/components/masking": 1}}


@pytest.mark.parametrize("model_id,path", [(m, p) for m in UNKNOWN for p in UNKNOWN[m]])
def test_unknown_words_are_counted(page, server, model_id, path):
    target = "&target=le+blip+voit" if model_id == TRANSLATOR else ""
    page.goto(f"{server}{path}?model={model_id}&text=the+zorblax+sees+the+cat{target}")
    wait_ready(page)
    note = page.locator("#unk-note")
    n = UNKNOWN[model_id][path]
    assert note.is_visible() and note.get_attribute("data-count") == str(n), (note.text_content(), n)
    assert "not in the vocabulary and became <unk>" in note.text_content()
