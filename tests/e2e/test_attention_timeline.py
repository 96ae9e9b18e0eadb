"""/attention extras in headless Chromium: head labels next to every head (equal to GET /api/v1/models/{id}/heads)
and, for tiny-gpt, the training-step slider whose patterns equal the timeline API and a torch run of the
snapshot loaded here from disk."""
from __future__ import annotations

import numpy as np
import torch

from model import zoo
from model.transformer import run_with_cache

from .conftest import screenshot, wait_ready
from .helpers import CHECKPOINTS, api

GPT, TRANSLATOR = "tiny-gpt", "tiny-translator"
TEXT = "the girl dropped the cup . it broke ."


def plot_z(page, el_id: str) -> np.ndarray:
    z = page.evaluate(f"() => document.getElementById('{el_id}').data[0].z")
    return np.array([[np.nan if v is None else v for v in row] for row in z], dtype=float)


def causal_view(m: np.ndarray) -> np.ndarray:
    out = np.array(m, dtype=float)
    out[np.triu_indices(out.shape[0], 1)] = np.nan
    return out


def label_of(heads: list[dict], name: str, h: int) -> str:
    entry = next(e for e in heads if e["name"] == name and e["head"] == h)
    return ", ".join(entry["labels"])


def slide(page, index: int) -> None:
    page.evaluate("(i) => { const e = document.getElementById('step'); e.value = String(i);"
                  " e.dispatchEvent(new Event('input', {bubbles: true})); }", index)
    wait_ready(page)


def snapshot_pattern(step: int, layer: int, text: str) -> np.ndarray:
    snap = zoo.load(f"step-{step:05d}", CHECKPOINTS / "timeline" / GPT)
    name = f"blocks.{layer}.attn.hook_pattern"
    with torch.inference_mode():
        _, cache = run_with_cache(snap.model, torch.tensor(snap.encode(text)), names=[name])
    return cache[name].double().numpy()


def test_head_labels_shown_for_every_head(page, server):
    heads = api(server, f"/api/v1/models/{GPT}/heads")["heads"]
    assert any(h["labels"] for h in heads)
    page.goto(f"{server}/attention?model={GPT}&layer=1&head=0")
    wait_ready(page)
    n_heads = api(server, f"/api/v1/models/{GPT}")["config"]["n_heads"]
    # grid: every (layer, head) cell carries its labels
    for layer in range(2):
        for h in range(n_heads):
            cap = page.text_content(f'#grid .grid-cell[data-layer="{layer}"][data-head="{h}"] .grid-label')
            assert cap == label_of(heads, f"blocks.{layer}.attn", h)
    # bars, table rows and the head picker of the selected layer
    for h in range(n_heads):
        lab = label_of(heads, "blocks.1.attn", h)
        want = f"head {h} · {lab}" if lab else f"head {h}"
        assert page.text_content(f'#weights-table tr[data-head="{h}"] th') == want
        assert page.text_content(f'#head option[value="{h}"]') == want
        title = page.evaluate(f"() => document.querySelector('#head-bars .head-bar[data-head=\"{h}\"]').layout.title.text")
        assert title == want
    entry = next(e for e in heads if e["name"] == "blocks.1.attn" and e["head"] == 0)
    text = page.text_content("#head-scores")
    assert "blocks.1.attn head 0" in text
    for behaviour, score in entry["scores"].items():
        assert f"{behaviour} {score:.2f}" in text
    screenshot(page, "attention-head-labels")


def test_translator_labels_cross_attention_and_has_no_slider(page, server):
    heads = api(server, f"/api/v1/models/{TRANSLATOR}/heads")["heads"]
    page.goto(f"{server}/attention?model={TRANSLATOR}&kind=cross&head=1")
    wait_ready(page)
    assert page.is_hidden("#step-label")
    for layer in range(2):
        for h in range(4):
            cap = page.text_content(f'#grid .grid-cell[data-layer="{layer}"][data-head="{h}"] .grid-label')
            assert cap == label_of(heads, f"decoder.{layer}.cross_attn", h)
    assert "alignment" in page.text_content("#head-scores")


def test_training_step_slider_redraws_patterns(page, server):
    tl = api(server, f"/api/v1/models/{GPT}/timeline")
    steps = tl["steps"]
    page.goto(f"{server}/attention?model={GPT}&layer=1&head=2")
    page.fill("#text", TEXT)
    page.click("#run")
    wait_ready(page)
    assert page.is_visible("#step-label")
    assert page.get_attribute("#step", "max") == str(len(steps) - 1)
    trained = plot_z(page, "plot-pattern")
    assert "(trained)" in page.text_content("#step-out")

    for i in (0, 3):
        slide(page, i)
        step = steps[i]
        assert page.text_content("#step-out") == str(step)
        assert f"after {step} of {steps[-1]} training steps" in page.text_content("#step-note")
        assert f"{tl['losses'][i]:.3f}" in page.text_content("#step-note")
        want = api(server, "/api/v1/timeline/attention", {"model": GPT, "text": TEXT, "layer": 1})["patterns"][i]
        shown = plot_z(page, "plot-pattern")
        np.testing.assert_array_equal(shown, causal_view(np.array(want[2])))
        np.testing.assert_allclose(np.nan_to_num(shown), snapshot_pattern(step, 1, TEXT)[2], atol=1e-5)
        # the grid is redrawn from the same snapshot, every layer
        for layer in range(2):
            small = plot_z_cell(page, layer, 0)
            np.testing.assert_allclose(np.nan_to_num(small), snapshot_pattern(step, layer, TEXT)[0], atol=1e-5)
        assert f"step={step}" in page.url
    assert not np.allclose(np.nan_to_num(plot_z(page, "plot-pattern")), np.nan_to_num(trained))
    screenshot(page, "attention-timeline-step")

    # the URL reproduces the step; the last notch is the trained model again
    page.goto(page.url)
    wait_ready(page)
    assert page.input_value("#step") == "3"
    np.testing.assert_allclose(np.nan_to_num(plot_z(page, "plot-pattern")), snapshot_pattern(steps[3], 1, TEXT)[2], atol=1e-5)
    slide(page, len(steps) - 1)
    np.testing.assert_array_equal(plot_z(page, "plot-pattern"), trained)
    assert "step=" not in page.url

    # changing layer keeps the step
    slide(page, 2)
    page.select_option("#layer", "0")
    wait_ready(page)
    np.testing.assert_allclose(np.nan_to_num(plot_z(page, "plot-pattern")), snapshot_pattern(steps[2], 0, TEXT)[2], atol=1e-5)


def plot_z_cell(page, layer: int, head: int) -> np.ndarray:
    z = page.evaluate(f"""() => document.querySelector('#grid .grid-cell[data-layer="{layer}"][data-head="{head}"] .grid-plot').data[0].z""")
    return np.array([[np.nan if v is None else v for v in row] for row in z], dtype=float)


def test_default_model_opens_on_its_induction_head_and_the_slider_shows_it_forming(page, server):
    """The default model on its repeated-passage example: with no head in the link the page opens on the head the
    API scores highest for induction; the query chosen is a token of the second copy, and that head's weight on
    the token after the earlier copy is high in the trained model and at the last snapshot, low at the first."""
    model = zoo.DEFAULT_MODEL
    heads = api(server, f"/api/v1/models/{model}/heads")["heads"]
    best = max((e for e in heads if "induction" in e["labels"]), key=lambda e: e["scores"]["induction"])
    page.goto(f"{server}/attention")
    wait_ready(page)
    state = page.evaluate("() => window.__xray.state")
    assert state["model"] == model and (state["layer"], state["head"]) == (best["layer"], str(best["head"]))
    tokens = page.evaluate("() => window.__xray.current().toks.tokens")
    q = state["token"]
    # the query and the three tokens before it occurred together earlier, at `earlier`: an induction head looks
    # at the token that followed them then
    earlier = next(j for j in range(3, q) if tokens[j - 3:j + 1] == tokens[q - 3:q + 1])
    first = earlier + 1
    trained = plot_z(page, "plot-pattern")[q]
    assert trained[first] > 0.3 and trained[first] == np.nanmax(trained)
    steps = api(server, f"/api/v1/models/{model}/timeline")["steps"]
    slide(page, 0)
    early = plot_z(page, "plot-pattern")[q]
    slide(page, len(steps) - 1)
    late = plot_z(page, "plot-pattern")[q]
    assert early[first] < 0.3 < late[first]
    screenshot(page, "attention-induction-timeline")
