"""/trace in headless Chromium: step through the whole forward pass to the logits and back (keys and buttons),
every step shows a title, an activation name with its shape and a sentence; the numbers drawn are the model's
(the API's trace and an in-process recomputation from the checkpoint). The page fetches the trace one group of
names at a time (the embeddings, one block, the output stage), each group once, never the full trace."""
from __future__ import annotations

import json
import re

import numpy as np
import pytest
import torch

from model.transformer import run_with_cache

from .conftest import screenshot, wait_ready
from .helpers import api, loaded_model

GPT, TRANSLATOR = "tiny-gpt", "tiny-translator"
INPUTS = {GPT: ("the cat that the dogs see runs", None),
          TRANSLATOR: ("the big cat sees the red car .", "le chat grand voit la voiture")}


def step_count(page) -> tuple[int, int]:
    m = re.fullmatch(r"Step (\d+) / (\d+)", page.locator("#step-count").text_content())
    assert m, page.locator("#step-count").text_content()
    return int(m[1]), int(m[2])


def plot_data(page, el_id: str, key: str):
    return page.evaluate(f"() => Array.from(document.getElementById('{el_id}').data[0].{key}, (r) => Array.isArray(r) ? Array.from(r) : r)")


def expected_groups(info: dict) -> list[list[str]]:
    """The `names` of the page's requests, in forward order, from the model's config (the shipped models all
    have layer norms, so every glob matches)."""
    n = info["config"]["n_layers"]
    if info["arch"] != "encoder_decoder":
        return [["hook_embed", "hook_pos_embed"], *[[f"blocks.{l}.*"] for l in range(n)],
                ["ln_final.*", "hook_logits", "hook_probs"]]
    return [["encoder.hook_embed", "encoder.hook_pos_embed"], *[[f"encoder.{l}.*"] for l in range(n)], ["encoder.ln_final.*"],
            ["decoder.hook_embed", "decoder.hook_pos_embed"], *[[f"decoder.{l}.*"] for l in range(n)],
            ["decoder.ln_final.*", "hook_logits", "hook_probs"]]


def record_traces(page) -> list[dict]:
    """The bodies of the page's POST /api/v1/trace requests, appended as they are sent."""
    bodies: list[dict] = []
    page.on("request", lambda r: bodies.append(json.loads(r.post_data)) if r.url.endswith("/api/v1/trace") else None)
    return bodies


def open_trace(page, server, model_id: str, extra: str = ""):
    text, target = INPUTS[model_id]
    url = f"{server}/trace?model={model_id}&text={text.replace(' ', '+')}" + (f"&target={target.replace(' ', '+')}" if target else "")
    page.goto(url + extra)
    wait_ready(page)
    return text, target


@pytest.mark.parametrize("model_id", [GPT, TRANSLATOR])
def test_step_through_to_the_logits_and_back(page, server, model_id):
    bodies = record_traces(page)
    text, target = open_trace(page, server, model_id)
    step, total = step_count(page)
    assert step == 1 and total > 30
    assert page.locator("#prev").is_disabled()
    info = api(server, f"/api/v1/models/{model_id}")
    groups = expected_groups(info)
    # the first load asks for the embeddings (and at most the next group, prefetched), never the full trace
    assert 1 <= len(bodies) <= 2 and bodies[0]["names"] == groups[0], bodies
    assert all(b["names"] in groups and b["precision"] == 4 and b["text"] == text and b.get("target") == target
               for b in bodies), bodies
    names = {a["name"] for a in info["activation_names"]}
    titles, shown = [], []
    for i in range(1, total + 1):
        assert step_count(page) == (i, total)
        title = page.locator("#step-title").text_content()
        assert title.strip() and page.locator("#step-text").text_content().strip()
        name_line = page.locator("#step-name").text_content()
        activation = name_line.split()[0]
        if activation != "tokens":  # token ids step: a table, not an activation
            assert activation in names, name_line
            assert re.search(r"\[\d+(, \d+)*\]", name_line), name_line  # the shape is shown
            # the main heatmap is drawn (Plotly paints a heatmap as an <image> in its .hm layer)
            assert page.locator("#plot-main .hm image").count() == 1, f"empty heatmap at step {i}: {title}"
        titles.append(title)
        shown.append(activation)
        if i == 12:
            screenshot(page, f"trace-{model_id}-step12")
        if i < total:
            page.keyboard.press("ArrowRight")
            wait_ready(page)  # a step whose group is still in flight shows "loading …" until it is drawn
    assert page.locator("#next").is_disabled()
    # the whole pass: every group requested exactly once, in forward order, each with one group's names
    assert [b["names"] for b in bodies] == groups, [b["names"] for b in bodies]
    page.keyboard.press("ArrowRight")  # past the end: stays on the last step
    assert step_count(page) == (total, total)
    screenshot(page, f"trace-{model_id}-last")
    # the order of the forward pass, as the issue lists it
    must = ["token ids", "embedding row", "position vector", "Layer norm", "Q, K, V", "Scores q·k", "Divide by √d_head",
            "Mask", "Softmax → attention pattern", "pattern · V", "Concatenate the heads", "through W_O", "All heads summed", "+ residual", "FFN up-projection",
            "Activation", "FFN down-projection", "Final layer norm", "Unembedding → logits", "Softmax → next-token"]
    positions = [next(i for i, t in enumerate(titles) if m in t) for m in must]
    assert positions == sorted(positions), list(zip(must, positions))
    assert shown[-2:] == ["hook_logits", "hook_probs"]
    if model_id == TRANSLATOR:
        assert any("Cross-attention" in t for t in titles) and "Encoder output (memory)" in titles
    # back to the start with the button
    for i in range(total, 1, -1):
        page.click("#prev")
        wait_ready(page)
        assert step_count(page) == (i - 1, total)
        assert page.locator("#step-name").text_content().split()[0] == shown[i - 2]
    assert page.locator("#prev").is_disabled() and titles[0] == page.locator("#step-title").text_content()
    assert len(bodies) == len(groups)  # stepping back drew every step from the groups already fetched


@pytest.mark.parametrize("model_id", [GPT, TRANSLATOR])
def test_shown_numbers_are_the_models(page, server, model_id):
    text, target = open_trace(page, server, model_id, "&token=2&head=1")
    lm = loaded_model(model_id)
    # the page asks for 4 significant digits
    body = {"model": model_id, "text": text, "precision": 4} | ({"target": target} if target else {})
    tr = api(server, "/api/v1/trace", body)
    # token ids: the table shows the tokenizer's ids
    ids = [int(x) for x in page.locator('[data-testid="token-id"]').all_text_contents()]
    assert ids == lm.encode(text)
    src = torch.tensor(lm.encode(text))
    tgt = torch.tensor(lm.encode_target(target)) if target else None
    with torch.inference_mode():
        _, cache = run_with_cache(lm.model, src, tgt)
    stack = "encoder" if target else "blocks"
    steps = page.locator("#step-list li")
    titles = steps.all_text_contents()

    def goto(title_part: str, after: int = 0) -> int:
        i = next(i for i, t in enumerate(titles) if title_part in t and i >= after)
        steps.nth(i).click()
        wait_ready(page)
        return i

    # the embedding row of token 2: the bars are W_E[id], equal to the API's hook_embed and to torch
    goto("embedding row")
    embed_name = f"{stack}.hook_embed" if target else "hook_embed"
    assert page.locator("#step-name").text_content().startswith(embed_name)
    bars = np.array(plot_data(page, "plot-side", "y"))
    np.testing.assert_array_equal(bars, tr["activations"][embed_name]["data"][2])
    np.testing.assert_allclose(bars, lm.model.embed.W_E[ids[2]].numpy(), rtol=1e-3, atol=1e-6)
    # a layer norm step: the sentence quotes the chosen token's mean and √(var+ε) from the trace
    i = goto("Layer norm (ln1)")
    text_shown = page.locator("#step-text").text_content()
    mean = tr["activations"][f"{stack}.0.ln1.hook_mean"]["data"][2]
    scale = tr["activations"][f"{stack}.0.ln1.hook_scale"]["data"][2]
    assert f"{mean:.3f}" in text_shown and f"{scale:.3f}" in text_shown, text_shown
    # the attention pattern of head 1, query token 2: the page's bars equal torch's softmax row
    goto("Softmax → attention pattern", after=i)
    row = np.array(plot_data(page, "plot-side", "y"))
    np.testing.assert_allclose(row, cache[f"{stack}.0.attn.hook_pattern"][1, 2].numpy(), rtol=1e-3, atol=1e-6)
    # concatenating the heads: hook_z [pos, head, d_head] shown as [pos, head·d_head], head-major, equal to the
    # API's hook_z and to torch's; the chosen head's columns are outlined
    goto("Concatenate the heads", after=i)
    z_name = f"{stack}.0.attn.hook_z"
    z = np.array(tr["activations"][z_name]["data"])
    n_pos, n_heads, d_head = z.shape
    assert re.search(rf"\[{n_pos}, {n_heads * d_head}\]", page.locator("#step-name").text_content())
    shown = np.array(plot_data(page, "plot-main", "z"))
    np.testing.assert_array_equal(shown, z.reshape(n_pos, n_heads * d_head))
    np.testing.assert_allclose(shown, cache[z_name].reshape(n_pos, -1).numpy(), rtol=1e-3, atol=1e-4)
    np.testing.assert_array_equal(np.array(plot_data(page, "plot-side", "y")), z[2].reshape(-1))
    outline = page.evaluate("() => document.getElementById('plot-main').layout.shapes.filter((s) => s.yref === 'paper' && s.type === 'rect')")
    assert [(o["x0"], o["x1"]) for o in outline] == [(d_head - 0.5, 2 * d_head - 0.5)]  # head 1
    # the last step: the top-10 bars are the largest next-word probabilities after token 2
    steps.nth(len(titles) - 1).click()
    wait_ready(page)
    probs = cache["hook_probs"][2].numpy()
    shown = np.array(plot_data(page, "plot-side", "y"))
    np.testing.assert_allclose(shown, np.sort(probs)[::-1][:10], rtol=1e-3, atol=1e-6)
    words = plot_data(page, "plot-side", "x")
    assert len(words) == 10
    assert lm.tokenizer.vocab[int(probs.argmax())] == page.evaluate(
        "() => document.getElementById('plot-side').layout.xaxis.ticktext[0]")
    screenshot(page, f"trace-{model_id}-probs")


def test_a_block_in_flight_shows_loading(page, server):
    """A step whose block has not arrived says "loading block l…" with data-ready false, and is drawn once the
    block's request answers; the request in flight (the prefetch) is not sent twice."""
    bodies = record_traces(page)
    held = []
    page.route("**/api/v1/trace", lambda r: held.append(r) if "blocks.1.*" in (r.request.post_data or "") else r.continue_())
    open_trace(page, server, GPT, "&step=5")  # a step of block 0: block 0 is fetched, block 1 prefetched (held)
    assert [b["names"] for b in bodies][:1] == [["blocks.0.*"]]
    page.select_option("#layer", "blocks.1")
    page.wait_for_selector("#step-loading:not([hidden])")
    assert page.locator("#step-loading").text_content() == "loading block 1…"
    assert page.get_attribute("body", "data-ready") == "false"
    assert page.locator("#step-title").text_content() == "Block 1: residual stream in"
    assert page.locator("#plot-main .hm image").count() == 0  # block 0's plot is not left under block 1's title
    assert len(held) == 1
    held[0].continue_()
    wait_ready(page)
    assert page.locator("#step-loading").is_hidden()
    assert page.locator("#step-name").text_content().startswith("blocks.1.hook_resid_pre")
    assert page.locator("#plot-main .hm image").count() == 1
    assert [b["names"] for b in bodies].count(["blocks.1.*"]) == 1
