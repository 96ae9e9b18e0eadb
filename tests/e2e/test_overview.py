"""/ (overview) in headless Chromium: the diagram is generated from the loaded model's module tree. Every
module with parameters has a box, the boxes' parameter counts add up to sum(numel) of the checkpoint's model,
and a box links to the page that shows that part at work."""
from __future__ import annotations

import pytest

from .conftest import screenshot, wait_ready
from .helpers import api, loaded_model

GPT, TRANSLATOR = "tiny-gpt", "tiny-translator"


@pytest.mark.parametrize("model_id", [GPT, TRANSLATOR])
def test_diagram_is_the_module_tree_with_counts(page, server, model_id):
    page.goto(f"{server}/?model={model_id}")
    wait_ready(page)
    screenshot(page, f"overview-{model_id}")
    lm = loaded_model(model_id)
    boxes = page.locator(".arch-box[data-module]")
    shown = dict(zip(boxes.evaluate_all("els => els.map((e) => e.dataset.module)"),
                     map(int, boxes.evaluate_all("els => els.map((e) => e.dataset.params)"))))
    # an independent count from the checkpoint, grouped by module the same way (weight path minus its leaf)
    expected: dict[str, int] = {}
    for name, p in lm.model.named_parameters():
        path = name.removeprefix("stack.").replace("encoder.blocks.", "encoder.").replace("decoder.blocks.", "decoder.")
        module = path.rsplit(".", 1)[0]
        expected[module] = expected.get(module, 0) + p.numel()
    for module, n in expected.items():
        assert shown.get(module) == n, (module, shown.get(module), n)
    assert sum(shown.values()) == sum(p.numel() for p in lm.model.parameters())
    assert page.locator("#status").get_attribute("data-total") == str(api(server, f"/api/v1/models/{model_id}")["n_params"])
    cfg = lm.cfg
    stacks = ["encoder", "decoder"] if lm.is_encoder_decoder else ["blocks"]
    for s in stacks:
        for layer in range(cfg.n_layers):
            box = page.locator(f'.arch-box[data-module="{s}.{layer}.attn"]')
            assert box.count() == 1
            text = box.text_content()
            assert f"d_model={cfg.d_model}" in text and f"W_Q [{cfg.n_heads}×{cfg.d_model}×{cfg.d_head}]" in text
    if lm.is_encoder_decoder:
        assert page.locator('.arch-box[data-module="decoder.0.cross_attn"]').count() == 1
    # one "+ residual" after every sublayer: attention and FFN, plus cross-attention in decoder blocks
    assert page.locator(".arch-resid").count() == sum(cfg.n_layers * (2 + (s == "decoder")) for s in stacks)


def test_boxes_link_to_their_pages(page, server):
    page.goto(f"{server}/?model={GPT}")
    wait_ready(page)
    hrefs = page.locator(".arch-box").evaluate_all("els => els.map((e) => e.getAttribute('href'))")
    assert all(hrefs) and len(set(h.split("?")[0] for h in hrefs)) >= 5  # trace, positions, layer norm, FFN, lens
    page.click('.arch-box[data-module="blocks.1.attn"]')
    page.wait_for_url("**/trace?**")
    wait_ready(page)
    assert page.locator("#step-title").text_content() == "Self-attention: Q, K, V"
    assert page.locator("#step-name").text_content().startswith("blocks.1.attn.hook_q")
    page.goto(f"{server}/?model={GPT}")
    wait_ready(page)
    page.click('.arch-box[data-module="blocks.0.ln2"]')
    page.wait_for_url("**/components/layer-norm?**")
    wait_ready(page)
    assert page.locator("#ln").input_value() == "blocks.0.ln2"
