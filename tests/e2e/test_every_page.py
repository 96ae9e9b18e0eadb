"""Every page, for a decoder-only model and the translator, at a desktop (1400px) and a narrow (800px) width:
no request answers 4xx/5xx (favicon included), nothing sticks out sideways, and no chart is drawn wider than
its box (Plotly reads a div's CSS width; with a border that overflowed the head bars)."""
from __future__ import annotations

import urllib.request

import pytest

from .conftest import screenshot, wait_ready

PAGES = ["/", "/trace", "/components/layer-norm", "/components/residual", "/components/ffn", "/components/positions",
         "/components/masking", "/components/params", "/logit-lens", "/attention", "/sampling", "/compare", "/glossary"]

CHECK = """() => {
  const out = [];
  document.querySelectorAll('.js-plotly-plot').forEach((p) => {
    const svg = p.querySelector('.main-svg');
    if (svg && svg.getBoundingClientRect().width > p.clientWidth + 1) out.push(`chart ${p.id || p.className} wider than its box`);
  });
  const doc = document.documentElement;
  if (doc.scrollWidth > doc.clientWidth) out.push(`page ${doc.scrollWidth}px wide in a ${doc.clientWidth}px window`);
  return out;
}"""


def test_favicon_is_served(server):
    with urllib.request.urlopen(server + "/favicon.ico") as r:
        assert r.status == 200 and r.headers["Content-Type"].startswith("image/svg+xml")
        assert r.read().startswith(b"<svg")


@pytest.mark.parametrize("width", [1400, 800])
@pytest.mark.parametrize("model_id", ["tiny-gpt", "tiny-translator"])
def test_pages_load_cleanly(page, server, model_id, width):
    page.set_viewport_size({"width": width, "height": 900})
    failed = []
    page.on("response", lambda r: r.status >= 400 and failed.append(f"{r.status} {r.url}"))
    for path in PAGES:
        page.goto(f"{server}{path}?model={model_id}&a_model={model_id}")
        wait_ready(page)
        page.wait_for_timeout(200)  # Plotly's responsive resize
        problems = page.evaluate(CHECK)
        assert not problems, (path, problems)
        assert page.locator('link[rel="icon"]').get_attribute("href") == "/static/favicon.svg"
    assert not failed, failed
    screenshot(page, f"every-page-last-{model_id}-{width}")
