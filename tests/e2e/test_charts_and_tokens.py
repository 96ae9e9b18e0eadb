"""The one chart configuration, the one token helper, /docs offline, and the page-level fixes of issue 12, each
checked in Chromium as a person would meet them."""
from __future__ import annotations

import re
from urllib.parse import quote, urlparse

import pytest


from .conftest import screenshot, wait_ready
from .helpers import api

GPT, TRANSLATOR = "tiny-gpt", "tiny-translator"
CHART_PAGES = ["/", "/trace?step=9", "/components/layer-norm", "/components/residual", "/components/ffn",
               "/components/positions?model=tiny-gpt", "/components/masking", "/components/params", "/attention", "/sampling", "/compare"]
TABLE_PAGES = ["/logit-lens", "/glossary"]

CHARTS = """() => [...document.querySelectorAll('.js-plotly-plot')].filter((p) => p.offsetParent !== null).map((p) => ({
  id: p.id || p.className,
  compact: p.closest('.grid-cell') !== null,
  title: (p.querySelector('.gtitle') || {}).textContent || '',
  colorbars: [...p.querySelectorAll('.colorbar')].map((c) => (c.querySelector('.cbtitle') || {}).textContent || ''),
  buttons: [...p.querySelectorAll('.modebar-btn')].map((b) => [b.getAttribute('data-title'), b.getAttribute('tabindex')]),
}))"""


@pytest.mark.parametrize("path", CHART_PAGES)
def test_chart_config_titles_colour_bars_and_toolbar(page, server, path):
    page.goto(server + path)
    wait_ready(page)
    charts = page.evaluate(CHARTS)
    assert charts, "no chart drawn"
    for c in charts:
        if c["compact"]:
            continue  # the attention page's small multiples: no axes, no toolbar, the scale said once above them
        assert c["title"].strip(), c  # a title in words
        assert all(t.strip() for t in c["colorbars"]), c  # every colour bar says what it measures
        titles = [t for t, _ in c["buttons"]]
        assert "Download plot as a PNG" in titles and not any(re.search(r"cloud|chart studio|share", t or "", re.I) for t in titles), c
        assert all(tab == "-1" for _, tab in c["buttons"]), c  # out of the Tab order
    # the chart library is loaded by the page's script, not in <head>
    assert page.locator("head script[src*=plotly]").count() <= 1
    assert page.evaluate("() => document.querySelector('head script[src*=plotly]')?.async ?? false") is True


def test_keyboard_gets_past_the_charts_of_compare(page, server):
    """About 60 Tab presses used to be needed to get past /compare's chart toolbars; now the charts add none."""
    page.goto(server + "/compare")
    wait_ready(page)
    page.focus("#run")
    seen = []
    for _ in range(6):
        page.keyboard.press("Tab")
        seen.append(page.evaluate("() => document.activeElement.id || document.activeElement.tagName"))
    assert seen[:2] == ["layer", "head"] and not any("modebar" in s for s in seen), seen
    # clicking into a chart (on purpose) puts its toolbar back in the Tab order
    page.click("#plot-loss .nsewdrag", position={"x": 30, "y": 30})
    assert page.evaluate("() => [...document.querySelectorAll('#plot-loss .modebar-btn')].every((b) => b.tabIndex === 0)")


@pytest.mark.parametrize("path", TABLE_PAGES)
def test_pages_without_charts_never_load_plotly(page, server, path):
    requested = []
    page.on("request", lambda r: requested.append(r.url))
    page.goto(server + path)
    wait_ready(page)
    assert not any("plotly" in u for u in requested), requested
    assert page.evaluate("() => typeof window.Plotly") == "undefined"


def test_plotly_is_cached_for_a_year(page, server):
    page.goto(server + "/components/ffn")
    wait_ready(page)
    src = page.evaluate("() => document.querySelector('script[src*=plotly]').src")
    r = page.request.get(src)
    assert r.ok and "max-age=31536000" in r.headers["cache-control"] and "immutable" in r.headers["cache-control"]


TOKENS = """async () => {
  const t = await import('/static/js/tokens.js');
  const node = t.tokenNode(' <b>cat</b>\\n');
  return {
    labels: [' cat', 'ing', '\\n', '\\t', '  ', '\\u0007', '', 'a\\u00a0b', '<unk>', 'é'].map(t.tokenLabel),
    nodeText: node.textContent, nodeElements: [...node.querySelectorAll('*')].map((e) => e.className),
    nodeTitle: node.title, plotly: t.tokenPlotly('<i>x</i> '), sentence: t.tokensText([' the', ' cat', 'ing']),
  };
}"""


def test_token_helper_through_a_page(page, server):
    """tokens.js, the one place tokens are turned into something visible, checked in the browser."""
    page.goto(server + "/glossary")
    wait_ready(page)
    out = page.evaluate(TOKENS)
    assert out["labels"] == ["·cat", "ing", "↵", "→", "··", "\\u{7}", "∅", "a⍽b", "<unk>", "é"]
    # user text stays text: the markup-looking token is characters, the only elements are the quiet marks
    assert out["nodeText"] == "·<b>cat</b>↵" and out["nodeElements"] == ["tok-quiet", "tok-quiet"]
    assert out["nodeTitle"] == '" <b>cat</b>\\n"'  # the exact token, escapes readable
    assert out["plotly"] == '&lt;i&gt;x&lt;/i&gt;<span style="color:#9aa3ab">·</span>'
    assert out["sentence"] == "·the·cating"


def test_subword_tokens_on_the_sampling_page(page, server):
    """A byte-level-BPE-like vocabulary (pieces with leading spaces, a newline) shown by the sampling page: the table
    and the chart's axis show the quiet marks, the words stay exact text."""
    page.goto(server + "/sampling")
    wait_ready(page)
    vocab = [" cat", "ing", "\n", " <script>", "dog"]
    page.evaluate("([v]) => window.__xray.setLogits([3, 2, 1, 0.5, 0], v)", [vocab])
    page.wait_for_timeout(300)
    cells = page.locator("#cand-table tr[data-id] td.mono .tok")
    assert cells.all_text_contents() == ["·cat", "ing", "↵", "·<script>", "dog"]
    assert page.locator("#cand-table .tok .tok-quiet").count() == 3
    assert page.locator("#cand-table script").count() == 0
    ticks = page.evaluate("() => [...document.querySelectorAll('#plot-probs .xtick text')].map((t) => t.textContent)")
    assert ticks == ["·cat", "ing", "↵", "·<script>", "dog"]


def test_docs_work_offline(page, server):
    """/docs with every request that leaves this server blocked: Swagger UI (served by the app) lists the API."""
    outside = []

    def route(r):
        host = urlparse(r.request.url).hostname
        if host not in ("127.0.0.1", "localhost"):
            outside.append(r.request.url)
            return r.abort()
        return r.continue_()
    page.route("**/*", route)
    page.goto(server + "/docs")
    page.wait_for_selector(".opblock", timeout=30_000)
    ops = page.locator(".opblock .opblock-summary-path").all_text_contents()
    spec = api(server, "/openapi.json")
    want = {p for p, item in spec["paths"].items()}
    assert want <= {o.replace("\u200b", "") for o in ops}, (want, ops)
    assert outside == []
    screenshot(page, "docs-offline")


# ---------------------------------------------------------------------------------------------- page fixes
def test_trace_opens_on_the_last_token_not_bos(page, server):
    page.goto(server + f"/trace?model={GPT}")
    wait_ready(page)
    chips = page.locator("#tokens .chip")
    pressed = [chips.nth(i).get_attribute("aria-pressed") for i in range(chips.count())]
    assert pressed[-1] == "true" and pressed[0] == "false" and chips.first.text_content() == "<bos>"


def test_positions_verdicts_state_their_thresholds(page, server):
    page.goto(server + "/components/positions")
    wait_ready(page)
    note = page.text_content("#shuffle-thresholds")
    assert "1e-5" in note and "0.01" in note
    for row in page.locator(".shuffle-table tr[data-model]").all():
        diff = float(row.get_attribute("data-diff"))
        verdict = row.locator("td.verdict").text_content()
        want = "identical" if diff < 1e-5 else "barely changes" if diff < 0.01 else "changes"
        assert verdict.startswith(want), (row.get_attribute("data-model"), diff, verdict)


def test_sampling_seed_box_shows_the_seed_used(page, server):
    page.goto(server + "/sampling?seed=5")
    wait_ready(page)
    for _ in range(2):
        page.click("#step")
        wait_ready(page)
    seeds = [li.get_attribute("data-seed") for li in page.locator("#step-log li").all()]
    assert seeds == ["5", "6"] and page.input_value("#seed") == "7" and "seed=7" in page.url


def test_residual_page_status_and_distinct_colours(page, server):
    page.goto(f"{server}/components/residual?model={TRANSLATOR}")
    wait_ready(page)
    status = page.text_content("#status")
    assert "blocks 8 tokens" not in status and "2 blocks per stack" in status, status
    colours = page.evaluate("() => document.getElementById('plot-writes').data.map((t) => t.marker.color)")
    assert len(colours) == 10 and len(set(colours)) == 10


def test_logit_lens_has_a_legend(page, server):
    page.goto(server + "/logit-lens")
    wait_ready(page)
    assert page.locator("#lens-legend .lens-swatch").count() == 5
    assert "probability" in page.text_content("#lens-legend")


def test_compare_results_go_stale_or_rerun(page, server):
    page.goto(server + "/compare")
    wait_ready(page)
    assert page.is_hidden("#stale-note")
    page.fill("#text", "the girl sees the dogs")
    assert page.is_visible("#stale-note") and "stale" in page.get_attribute("#results", "class")
    page.click("#run")
    wait_ready(page)
    assert page.is_hidden("#stale-note")
    # a changed model menu runs again at once; a translator on side A brings a translator example
    page.fill("#text", "the cat that the dogs see runs")  # the decoder example
    page.select_option("#a-model", TRANSLATOR)
    wait_ready(page)
    assert page.input_value("#text") == "the big cat sees the red car ."
    assert TRANSLATOR in page.text_content("#next-a-title") and page.is_hidden("#stale-note")
    screenshot(page, "compare-translator-example")


def test_texts_keep_their_newlines_and_enter_runs(page, server):
    """The text fields are textareas: a newline in a link's text survives (a one-line input dropped it), Enter runs
    the page as in a one-line field, Shift+Enter adds a line."""
    page.goto(f"{server}/logit-lens?text=" + quote("the cat\nsees the dog"))  # the default, byte-level model
    wait_ready(page)
    assert page.input_value("#text") == "the cat\nsees the dog" and "%0A" in page.url
    page.fill("#text", "the dog")
    page.press("#text", "Shift+Enter")
    page.type("#text", "runs")
    assert page.input_value("#text") == "the dog\nruns"
    page.press("#text", "Enter")
    wait_ready(page)
    assert "the+dog%0Aruns" in page.url
    # the default model reads bytes: the newline is a token of its own, shown as a quiet ↵, " dog" with a quiet ·
    rows = page.locator("#lens-table tbody th .tok").all_text_contents()  # "i: token"
    assert "3: ↵" in rows and "2: ·dog" in rows, rows
    assert page.locator("#lens-table tbody th .tok .tok-quiet").count() >= 2
