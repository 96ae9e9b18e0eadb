"""Every page, for a decoder-only model and the translator, at a desktop (1400px) and a phone (390px) width:
no request answers 4xx/5xx (favicon included), the page never scrolls sideways and no element sticks out of the
window unless it sits in a box that scrolls by itself (wide tables), no chart is drawn wider than its box (Plotly
reads a div's CSS width; with a border that overflowed the head bars), and every chart was drawn at its box's
width (charts resize)."""
from __future__ import annotations

import urllib.request

import pytest

from .conftest import screenshot, wait_ready

PAGES = ["/", "/trace", "/components/layer-norm", "/components/residual", "/components/ffn", "/components/positions",
         "/components/masking", "/components/params", "/logit-lens", "/attention", "/sampling", "/compare", "/glossary",
         "/tokenizer"]

CHECK = """() => {
  const out = [];
  document.querySelectorAll('.js-plotly-plot').forEach((p) => {
    const svg = p.querySelector('.main-svg');
    if (svg && svg.getBoundingClientRect().width > p.clientWidth + 1) out.push(`chart ${p.id || p.className} wider than its box`);
  });
  const doc = document.documentElement;
  const W = doc.clientWidth;
  if (doc.scrollWidth > W) out.push(`page ${doc.scrollWidth}px wide in a ${W}px window`);
  const scrolls = (e) => { for (let p = e.parentElement; p; p = p.parentElement) {
    if (['auto', 'scroll'].includes(getComputedStyle(p).overflowX)) return true; } return false; };
  document.querySelectorAll('main *, header *').forEach((e) => {
    const r = e.getBoundingClientRect();
    if (r.width && r.right > W + 1 && !scrolls(e) && !e.closest('.js-plotly-plot')) {
      out.push(`${e.tagName.toLowerCase()}#${e.id} ends at ${Math.round(r.right)}px in a ${W}px window`);
    }
  });
  return out.slice(0, 10);
}"""


def test_favicon_is_served(server):
    with urllib.request.urlopen(server + "/favicon.ico") as r:
        assert r.status == 200 and r.headers["Content-Type"].startswith("image/svg+xml")
        assert r.read().startswith(b"<svg")


@pytest.mark.parametrize("width", [1400, 390])
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
        assert not problems, (path, width, problems)
        assert page.locator('link[rel="icon"]').get_attribute("href") == "/static/favicon.svg"
        assert page.text_content("#error") in ("", None), (path, page.text_content("#error"))
        screenshot(page, f"every-page-{model_id}-{width}{path.replace('/', '-')}")
    assert not failed, failed


@pytest.mark.parametrize("path", ["/components/layer-norm", "/compare"])
def test_charts_follow_the_window_width(page, server, path):
    """Drawn at 1400px, then the window shrinks to 390px: the charts redraw at their new, narrower box."""
    page.goto(f"{server}{path}")
    wait_ready(page)
    page.set_viewport_size({"width": 390, "height": 900})
    page.wait_for_timeout(600)  # Plotly's responsive handler redraws on the window's resize event
    widths = page.evaluate("""() => [...document.querySelectorAll('.js-plotly-plot')].map((p) =>
        [p.clientWidth, p.querySelector('.main-svg').getBoundingClientRect().width])""")
    assert widths and all(svg <= box + 1 and box <= 390 for box, svg in widths), widths
    assert page.evaluate(CHECK) == []
