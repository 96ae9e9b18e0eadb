"""The component pages in headless Chromium, for both shipped models: each opens without console errors (the
`page` fixture fails on any) and a key number it draws equals the model's own, recomputed in this process
from the checkpoint with torch (or from the API where the page is a view of an API read-out)."""
from __future__ import annotations


import numpy as np
import pytest

from model.tokenizer import WordTokenizer
import torch

from model.transformer import run_with_cache

from .conftest import screenshot, wait_ready
from .helpers import api, loaded_model

GPT, TRANSLATOR = "tiny-gpt", "tiny-translator"
MODELS = [GPT, TRANSLATOR]
# the pages' own example inputs (static/js/examples.js)
TEXT = {GPT: ("the cat that the dogs see runs", None),
        TRANSLATOR: ("the big cat sees the red car .", "le chat grand voit la voiture")}


def open_page(page, server, path: str, model_id: str, extra: str = ""):
    page.goto(f"{server}{path}?model={model_id}{extra}")
    wait_ready(page)
    assert page.locator("#error").text_content() == ""
    screenshot(page, f"component-{path.strip('/').replace('/', '-')}-{model_id}")


def plot(page, el_id: str, trace: int = 0, key: str = "y"):
    return page.evaluate(f"() => JSON.parse(JSON.stringify(document.getElementById('{el_id}').data[{trace}].{key}))")


def cache_of(model_id: str):
    lm = loaded_model(model_id)
    text, target = TEXT[model_id]
    src = torch.tensor(lm.encode(text))
    tgt = torch.tensor(lm.encode_target(target)) if target else None
    with torch.inference_mode():
        _, cache = run_with_cache(lm.model, src, tgt)
    return lm, cache


@pytest.mark.parametrize("model_id", MODELS)
def test_layer_norm_page(page, server, model_id):
    ln = "decoder.0.ln_cross" if model_id == TRANSLATOR else "blocks.1.ln2"
    open_page(page, server, "/components/layer-norm", model_id, f"&ln={ln}")
    assert page.locator("#ln").input_value() == ln
    lm, cache = cache_of(model_id)
    np.testing.assert_allclose(plot(page, "plot-stats", 0), cache[f"{ln}.hook_mean"].numpy(), rtol=1e-3, atol=1e-5)
    np.testing.assert_allclose(plot(page, "plot-stats", 1), cache[f"{ln}.hook_scale"].numpy(), rtol=1e-3, atol=1e-5)
    stack, layer, leaf = ln.split(".")
    module = getattr(lm.model.decoder if stack == "decoder" else lm.model.stack, "blocks")[int(layer)]
    np.testing.assert_allclose(plot(page, "plot-gamma", 0), getattr(module, leaf).w.numpy(), atol=1e-5)
    np.testing.assert_allclose(plot(page, "plot-gamma", 1), getattr(module, leaf).b.numpy(), atol=1e-5)


@pytest.mark.parametrize("model_id", MODELS)
def test_residual_page(page, server, model_id):
    open_page(page, server, "/components/residual", model_id)
    lm, cache = cache_of(model_id)
    z = np.array(plot(page, "plot-norms", 0, "z"), dtype=float)
    stacks = ["encoder", "decoder"] if lm.is_encoder_decoder else ["blocks"]
    n = lm.cfg.n_layers
    row = 0
    for k, s in enumerate(stacks):
        norms = [cache[f"{s}.0.hook_resid_pre"].norm(dim=-1)] + [cache[f"{s}.{l}.hook_resid_post"].norm(dim=-1) for l in range(n)]
        expected = torch.stack(norms, 1).numpy()  # [pos, states]
        block = z[row:row + len(expected), k * (n + 1):(k + 1) * (n + 1)]
        np.testing.assert_allclose(block, expected, rtol=1e-4)
        row += len(expected)
    assert row == len(z)
    # what each sublayer wrote: the first bar series is block 0's attention output norm
    first = cache[f"{stacks[0]}.0.hook_attn_out"].norm(dim=-1).numpy()
    np.testing.assert_allclose(plot(page, "plot-writes", 0), first, rtol=1e-4)


@pytest.mark.parametrize("model_id", MODELS)
def test_ffn_page(page, server, model_id):
    open_page(page, server, "/components/ffn", model_id)
    lm, cache = cache_of(model_id)
    layer = page.locator("#layer").input_value()
    post = cache[f"{layer}.mlp.hook_post"].numpy()
    np.testing.assert_allclose(np.array(plot(page, "plot-hidden", 0, "z"), dtype=float), post, rtol=1e-3, atol=1e-5)
    # sparsity bars: fraction of units with |a| < 0.05 over all tokens, per layer of the stack shown
    stacks = ["encoder", "decoder"] if lm.is_encoder_decoder else ["blocks"]
    expected = [float((np.abs(cache[f"{s}.{l}.mlp.hook_post"].numpy()) < 0.05).mean())
                for s in stacks for l in range(lm.cfg.n_layers)]
    np.testing.assert_allclose(plot(page, "plot-sparsity", 0), expected, atol=1e-6)
    x = np.array(plot(page, "plot-curve", 0, "x"))
    y = np.array(plot(page, "plot-curve", 0, "y"))
    act = {"gelu": torch.nn.functional.gelu, "relu": torch.relu, "swiglu": torch.nn.functional.silu}[lm.cfg.act_fn]
    np.testing.assert_allclose(y, act(torch.tensor(x)).numpy(), atol=1e-5)


@pytest.mark.parametrize("model_id", MODELS)
def test_positions_page(page, server, model_id):
    open_page(page, server, "/components/positions", model_id)
    lm = loaded_model(model_id)
    table = lm.model.pos_embed.W_pos[:32].double().numpy()
    np.testing.assert_allclose(np.array(plot(page, "plot-table", 0, "z")), table, atol=1e-5)
    unit = table / np.linalg.norm(table, axis=-1, keepdims=True)
    np.testing.assert_allclose(np.array(plot(page, "plot-sim", 0, "z")), unit @ unit.T, atol=1e-5)
    # the shuffle demo runs on every decoder-only model, with its own mask and without one
    page.wait_for_selector("#shuffle-result table")
    models = api(server, "/api/v1/models")
    decoders = [m["id"] for m in models if m["arch"] == "decoder"]
    rows = page.locator("#shuffle-result tr[data-model]")
    assert rows.count() == 2 * len(decoders)
    text = page.locator("#shuffle-text").input_value()
    # the words shown are those of the first decoder in the model list (the default model), as tokens.js writes
    # them: word-level tokens joined by spaces, subword pieces joined as typed with a leading space shown as "·"
    first = api(server, "/api/v1/shuffle", {"model": decoders[0], "text": text, "seed": 0})
    word_level = isinstance(loaded_model(decoders[0]).tokenizer, WordTokenizer)
    shown = (lambda toks: " ".join(toks)) if word_level else (lambda toks: "".join(t.replace(" ", "·") for t in toks))
    assert page.locator("#shuffle-original").text_content() == shown(first["tokens"])
    assert page.locator("#shuffle-shuffled").text_content() == shown(first["shuffled_tokens"])
    out = api(server, "/api/v1/shuffle", {"model": GPT, "text": text, "seed": 0})
    shown = page.locator(f'#shuffle-result tr[data-model="{GPT}"][data-mask="causal"] td.diff').text_content()
    assert float(shown) == pytest.approx(out["max_abs_diff"], rel=1e-2)
    screenshot(page, f"component-positions-shuffle-{model_id}")


@pytest.mark.parametrize("model_id", MODELS)
def test_masking_page(page, server, model_id):
    open_page(page, server, "/components/masking", model_id)
    lm = loaded_model(model_id)
    cards = page.locator(".mask-row")
    assert cards.evaluate_all("els => els.map((e) => e.dataset.mask)") == ["causal", "padding", "none"]
    assert "<pad> tokens are hidden" in page.locator('.mask-row[data-mask="padding"] p').text_content()
    body = {"model": model_id, "text": page.locator("#text").input_value(), "mask": "none"}
    if lm.is_encoder_decoder:
        body["target"] = page.locator("#target").input_value()
    tokens = api(server, "/api/v1/masked-attention", body)["tokens"]
    n = len(tokens)
    real = np.array([t != "<pad>" for t in tokens])
    assert (~real).sum() == 2  # the example ends in two <pad>
    expected = {"causal": np.tril(np.ones((n, n))), "padding": np.broadcast_to(real[None], (n, n)).astype(float),
                "none": np.ones((n, n))}
    for mask, allowed in expected.items():
        z = page.evaluate(f"() => document.querySelector('.mask-row[data-mask=\"{mask}\"] .allowed').data[0].z")
        np.testing.assert_array_equal(np.array(z), allowed)
        pattern = np.array(page.evaluate(
            f"() => document.querySelector('.mask-row[data-mask=\"{mask}\"] .pattern').data[0].z"), dtype=float)
        assert (pattern[allowed == 0] == 0).all()
        np.testing.assert_allclose(pattern.sum(-1), 1, atol=1e-4)


@pytest.mark.parametrize("model_id", MODELS)
def test_logit_lens_page(page, server, model_id):
    open_page(page, server, "/logit-lens", model_id)
    lm, cache = cache_of(model_id)
    n_rows = page.locator("#lens-table tbody tr").count()
    probs = cache["hook_probs"].numpy()
    assert n_rows == len(probs)
    last = lm.cfg.n_layers  # columns: embedding + position, then after each block; the last is the model's output
    for pos in range(n_rows):
        cell = page.locator(f'#lens-table td[data-row="{pos}"][data-col="{last}"]')
        assert cell.locator(".word").text_content() == lm.tokenizer.vocab[int(probs[pos].argmax())]
        assert float(cell.locator(".prob").text_content()) == pytest.approx(float(probs[pos].max()), abs=0.006)


def test_parameter_calculator(page, server):
    page.goto(f"{server}/components/params")
    wait_ready(page)
    screenshot(page, "component-params")
    out = api(server, "/api/v1/param-count?preset=gpt2-small")
    assert page.locator("#preset").input_value() == "gpt2-small"
    assert int(page.locator("#total").get_attribute("data-total")) == out["total"]
    assert plot(page, "plot-breakdown", 0) == list(out["breakdown"].values())
    # GPT-2 small by hand: 12 blocks of 4·768² + 2·768·3072 weights and their biases, embeddings, 1024 positions,
    # the final norm; tied output and, as GPT-2, no unembedding bias
    d, m, V, L = 768, 3072, 50257, 12
    by_hand = V * d + 1024 * d + L * (4 * d * d + 4 * d + 2 * d * m + m + d + 4 * d) + 2 * d
    assert out["total"] == by_hand == 124_439_808
    # free inputs: change d_model and the count follows the arithmetic
    page.select_option("#preset", "")
    page.fill("#f-d_model", "512")
    page.fill("#f-n_heads", "8")
    page.click("#param-form button[type=submit]")
    d = 512  # every other field keeps GPT-2's value as shown (tied output, no unembedding bias b_U)
    by_hand = V * d + 1024 * d + L * (4 * d * d + 4 * d + 2 * d * m + m + d + 4 * d) + 2 * d
    page.wait_for_selector(f'#total[data-total="{by_hand}"]')
    # Llama 3 8B: grouped-query attention, RMSNorm, SwiGLU, no biases, untied; by hand, W_K and W_V have 8 of the
    # 32 heads
    page.select_option("#preset", "llama3-8b")
    d, m, V, L, kv = 4096, 14336, 128256, 32, 8 * 128
    by_hand = 2 * V * d + L * (2 * d * d + 2 * d * kv + 3 * d * m + 2 * d) + d
    page.wait_for_selector(f'#total[data-total="{by_hand}"]')
    assert page.input_value("#f-norm_type") == "rms" and page.input_value("#f-n_kv_heads") == "8"
    assert page.input_value("#f-act_fn") == "swiglu" and not page.is_checked("#f-attn_bias")
    screenshot(page, "component-params-llama3")
    # the loaded models: the arithmetic from their config equals sum(numel) of their modules
    for m_info in api(server, "/api/v1/models"):
        row = page.locator(f'#loaded-models tr[data-model="{m_info["id"]}"]')
        cells = row.locator("td").all_text_contents()
        n = sum(p.numel() for p in loaded_model(m_info["id"]).model.parameters())
        assert cells[2].replace(",", "") == cells[3].replace(",", "") == str(n) and cells[4] == "✓"
