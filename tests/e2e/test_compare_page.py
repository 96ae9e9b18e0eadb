"""/compare in headless Chromium: two models picked in the form; every number shown (held-out metrics, final
loss, loss curves, next-word probabilities, attention weights) equals what the API returns, the attention
also equals an in-process torch recomputation, and the difference map equals A − B of the two patterns."""
from __future__ import annotations

import json

import numpy as np
import torch

from model.transformer import run_with_cache

from .conftest import screenshot, wait_ready
from .helpers import api, loaded_model

GPT, VARIANT, TRANSLATOR = "tiny-gpt", "tiny-gpt-no-pos", "tiny-translator"
TEXT = "the dog that the cats chase"


def plot_z(page, el_id: str):
    return page.evaluate(f"() => document.getElementById('{el_id}').data[0].z")


def table_values(page) -> dict[str, dict[str, str]]:
    return page.evaluate("""() => Object.fromEntries([...document.querySelectorAll('#metrics-table tr[data-metric]')]
        .map((tr) => [tr.dataset.metric, Object.fromEntries([...tr.querySelectorAll('td[data-side]')]
            .map((td) => [td.dataset.side, td.dataset.value]))]))""")


def next_rows(page, side: str) -> list[tuple[int, float]]:
    return page.evaluate(f"""() => [...document.querySelectorAll('#next-{side}-table tr[data-id]')]
        .map((tr) => [Number(tr.dataset.id), Number(tr.dataset.prob)])""")


def nan(z) -> np.ndarray:
    return np.array([[np.nan if v is None else v for v in row] for row in z], dtype=float)


def compare(page, server, a: str, b: str, text: str = TEXT, layer: int = 0, head: int = 0, a_temp: float | None = None,
            b_mask: str | None = None):
    """Open the page and pick everything with the form controls, as a user would."""
    page.goto(f"{server}/compare")
    wait_ready(page)
    page.select_option("#a-model", a)
    page.select_option("#b-model", b)
    if a_temp is not None:
        page.fill("#a-temperature", str(a_temp))
    if b_mask is not None:
        page.select_option("#b-mask", b_mask)
    page.fill("#text", text)
    page.click("#run")
    wait_ready(page)
    if layer:
        page.select_option("#layer", str(layer))
        wait_ready(page)
    if head:
        page.select_option("#head", str(head))
        wait_ready(page)
    assert page.text_content("#error") == ""


def test_two_models_numbers_equal_the_api(page, server):
    compare(page, server, GPT, VARIANT, layer=1, head=2, a_temp=0.7)
    shot = screenshot(page, "compare-gpt-vs-no-pos")
    assert shot.exists()
    details = {m: api(server, f"/api/v1/models/{m}") for m in (GPT, VARIANT)}

    # held-out metrics and final loss in the table
    values = table_values(page)
    for side, m in (("a", GPT), ("b", VARIANT)):
        metrics = details[m]["metrics"]
        assert metrics, m
        for name, v in metrics.items():
            assert float(values[name][side]) == v
        assert float(values["final_loss"][side]) == details[m]["training"]["losses"][-1][1]
        assert int(values["n_params"][side]) == details[m]["n_params"]
        curve = details[m]["training"]["metrics_curve"]
        assert int(values["n_test"][side]) == metrics["n_test"]
        for name in curve[-1][1]:
            first = next((s for s, v in curve if v[name] >= 0.95), "never")
            assert values[f"first_{name}"][side] == str(first)

    # loss curves: both sides on one chart, exactly the training record
    loss = page.evaluate("() => document.getElementById('plot-loss').data.map((t) => [Array.from(t.x), Array.from(t.y)])")
    for (xs, ys), m in zip(loss, (GPT, VARIANT)):
        assert [[x, y] for x, y in zip(xs, ys)] == details[m]["training"]["losses"]
    n_metric_traces = page.evaluate("() => document.getElementById('plot-metrics').data.length")
    assert n_metric_traces == sum(len(details[m]["training"]["metrics_curve"][-1][1]) for m in (GPT, VARIANT))

    # next-word distributions at each side's temperature
    for side, m, t in (("a", GPT, 0.7), ("b", VARIANT, 1.0)):
        want = api(server, "/api/v1/next-token", {"model": m, "text": TEXT, "temperature": t, "n_candidates": 10})
        assert next_rows(page, side) == [[c["id"], c["prob"]] for c in want["candidates"]]
        ys = page.evaluate(f"() => Array.from(document.getElementById('plot-next-{side}').data[0].y)")
        assert ys == [c["prob"] for c in want["candidates"]]

    # attention: layer 1 head 2 of each side equals the API and a torch recomputation
    pats = {}
    for side, m in (("a", GPT), ("b", VARIANT)):
        r = api(server, "/api/v1/masked-attention", {"model": m, "text": TEXT, "mask": "causal", "layer": 1})
        pats[side] = np.array(r["pattern"][2], dtype=float)
        shown = nan(plot_z(page, f"plot-attn-{side}"))
        allowed = np.array(r["allowed"])
        assert np.all(np.isnan(shown[~allowed])) and np.array_equal(shown[allowed], pats[side][allowed])
        lm = loaded_model(m)
        with torch.inference_mode():
            _, cache = run_with_cache(lm.model, torch.tensor(lm.encode(TEXT)), names=["blocks.1.attn.hook_pattern"])
        np.testing.assert_allclose(pats[side], cache["blocks.1.attn.hook_pattern"][2].double().numpy(), atol=1e-5)
    diff = nan(plot_z(page, "plot-diff"))
    np.testing.assert_allclose(diff, pats["a"] - pats["b"], atol=1e-12)
    assert page.get_attribute("#plot-diff", "data-shown") == "true"
    assert "Largest |A − B|" in page.text_content("#diff-note")
    scale = page.evaluate("() => document.getElementById('plot-diff').data[0].colorscale")
    assert scale[0][1] == "#542788" and scale[-1][1] == "#b35806"  # PuOr, diverging and colour-blind safe
    zmin, zmax = page.evaluate("() => [document.getElementById('plot-diff').data[0].zmin, document.getElementById('plot-diff').data[0].zmax]")
    assert zmin == -zmax and np.isclose(zmax, np.abs(pats["a"] - pats["b"]).max())

    # head labels come from the heads API
    heads = api(server, f"/api/v1/models/{GPT}/heads")["heads"]
    entry = next(h for h in heads if h["name"] == "blocks.1.attn" and h["head"] == 2)
    label_text = page.text_content("#labels-a")
    assert ", ".join(entry["labels"]) in label_text if entry["labels"] else "(none)" in label_text

    # the URL reproduces the view
    url = page.url
    assert f"b_model={VARIANT}" in url and "layer=1" in url and "head=2" in url and "a_temp=0.7" in url
    page.goto(url)
    wait_ready(page)
    assert page.input_value("#b-model") == VARIANT and page.input_value("#a-temperature") == "0.7"
    np.testing.assert_allclose(nan(plot_z(page, "plot-diff")), pats["a"] - pats["b"], atol=1e-12)


def test_same_model_with_and_without_mask(page, server):
    compare(page, server, GPT, GPT, b_mask="none")
    a = np.array(api(server, "/api/v1/masked-attention", {"model": GPT, "text": TEXT, "mask": "causal", "layer": 0})["pattern"][0])
    b = np.array(api(server, "/api/v1/masked-attention", {"model": GPT, "text": TEXT, "mask": "none", "layer": 0})["pattern"][0])
    diff = nan(plot_z(page, "plot-diff"))
    np.testing.assert_allclose(diff, a - b, atol=1e-12)
    upper = np.triu_indices(len(a), 1)
    assert np.all(diff[upper] <= 0) and diff[upper].min() < -0.01  # B (no mask) puts weight on later words
    # identical model and settings on both sides: the loss curves coincide and the difference is zero
    assert table_values(page)["final_loss"]["a"] == table_values(page)["final_loss"]["b"]
    screenshot(page, "compare-mask-none")


def test_different_tokens_no_difference_map(page, server):
    compare(page, server, GPT, TRANSLATOR, text="the small cat sees the dog")
    assert page.get_attribute("#plot-diff", "data-shown") == "false"
    screenshot(page, "compare-gpt-vs-translator")
    note = page.text_content("#diff-note")
    assert "different tokens" in note and "<bos>" in note and "<eos>" in note
    assert page.is_disabled("#b-mask") and not page.is_disabled("#a-mask")
    r = api(server, "/api/v1/trace", {"model": TRANSLATOR, "text": "the small cat sees the dog",
                                      "names": ["encoder.0.attn.hook_pattern"], "precision": 6})
    assert plot_z(page, "plot-attn-b") == r["activations"]["encoder.0.attn.hook_pattern"]["data"][0]
    values = table_values(page)
    assert float(values["exact_match"]["b"]) == api(server, f"/api/v1/models/{TRANSLATOR}")["metrics"]["exact_match"]
    # a metric a model does not measure is blank, not "never"
    assert values["first_exact_match"]["a"] == "" and values["first_agreement"]["b"] == ""
    assert page.is_hidden("#plot-diff")


def test_hostile_text_stays_text_and_errors_are_shown(page, server):
    page.xray_allow_console(r"status of 422")
    hostile = '<img src=x onerror="document.title=1">'
    page.goto(f"{server}/compare")
    wait_ready(page)
    page.fill("#a-temperature", "0")
    page.fill("#text", hostile)
    page.click("#run")
    wait_ready(page, state="error")
    assert "temperature" in page.text_content("#error")
    assert page.query_selector("img[src=x]") is None and page.title() != "1"
    page.fill("#a-temperature", "1")
    page.click("#run")
    wait_ready(page)
    # out-of-vocabulary words are tokens like any other: shown as text, never parsed as markup
    assert page.query_selector("img[src=x]") is None
    assert json.loads(page.evaluate("() => JSON.stringify(document.getElementById('next-a-title').textContent)"))
