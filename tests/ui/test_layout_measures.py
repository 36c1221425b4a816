"""Layout, measured in Chromium at desktop and phone widths: the charts' value labels are whole (not cut off at
the left edge), long endpoints wrap between their parts and never inside a word, and a Copy button never covers
the text it copies."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from playwright.async_api import Page, expect

from mcphost.ui.charts import Series, bar_chart, line_chart
from tests.ui.browser import sign_in
from tests.ui.live import Console
from tests.ui.observe import hosted_server

WIDTHS = {"desktop": {"width": 1280, "height": 900}, "phone": {"width": 390, "height": 844}}
TIMES = [datetime(2026, 3, 4, 12, 0, tzinfo=UTC) + timedelta(hours=i) for i in range(24)]
#: Charts whose value labels are among the longest the metrics can produce: one call in a week (a rate of a few
#: ten-thousandths per second), and latencies of seconds.
LONG_LABELS = [
    line_chart(
        TIMES, [Series("Calls/s", [0.0001] * 23 + [0.0004])], summary="rare", step=timedelta(hours=1), unit="/s"
    ),
    line_chart(TIMES, [Series("p99", [1500.0] * 23 + [2300.0])], summary="slow", step=timedelta(hours=1), unit=" ms"),
    line_chart(TIMES, [Series("p50", [0.02] * 24)], summary="fast", step=timedelta(hours=1), unit=" ms"),
    bar_chart(TIMES, [Series("Errors", [1.0] * 24, "bar-bad")], summary="errors", step=timedelta(hours=1)),
]

# Where each rendered label sits against its chart: the parts of labels outside the SVG's box, in pixels.
LABELS_OUTSIDE = """() => Array.from(document.querySelectorAll("svg.chart")).flatMap((svg) => {
  const box = svg.getBoundingClientRect();
  return Array.from(svg.querySelectorAll("text.label")).map((label) => {
    const r = label.getBoundingClientRect();
    return {text: label.textContent, left: box.left - r.left, right: r.right - box.right};
  }).filter((label) => label.left > 0.5 || label.right > 0.5);
})"""

# The characters on both sides of each line break inside an element's text.
LINE_BREAKS = """(element) => {
  const chars = [];
  const walker = document.createTreeWalker(element, NodeFilter.SHOW_TEXT);
  for (let node = walker.nextNode(); node; node = walker.nextNode()) {
    for (let i = 0; i < node.data.length; i++) {
      const range = document.createRange();
      range.setStart(node, i);
      range.setEnd(node, i + 1);
      const rect = range.getClientRects()[0];
      if (rect) chars.push({char: node.data[i], top: Math.round(rect.top)});
    }
  }
  const breaks = [];
  for (let i = 1; i < chars.length; i++) {
    if (chars[i].top > chars[i - 1].top) breaks.push(chars[i - 1].char + chars[i].char);
  }
  return breaks;
}"""

# How far each Copy button overlaps the block of text it copies (0 when they do not touch).
COPY_OVERLAPS = """() => Array.from(document.querySelectorAll("[data-copy-target]"))
  .filter((button) => button.offsetParent).map((button) => {
  const target = document.querySelector(button.dataset.copyTarget);
  const block = target.closest("pre") || target;
  const a = button.getBoundingClientRect(), b = block.getBoundingClientRect();
  const x = Math.min(a.right, b.right) - Math.max(a.left, b.left);
  const y = Math.min(a.bottom, b.bottom) - Math.max(a.top, b.top);
  return {button: button.getAttribute("aria-label"), overlap: x > 0 && y > 0 ? Math.round(x * y) : 0};
})"""


@pytest.mark.parametrize("width", list(WIDTHS))
async def test_chart_value_labels_are_not_cut_off(page: Page, console: Console, width: str) -> None:
    hosted = hosted_server(console, f"labels-{width}")
    for text in ("one", "two", "three"):
        hosted.call("echo", text=text)
    await page.set_viewport_size(WIDTHS[width])
    await sign_in(page, hosted.email)
    await page.goto(f"/servers/{hosted.id}/metrics")
    await expect(page.locator("svg.chart").first).to_be_visible()

    assert await page.evaluate(LABELS_OUTSIDE) == [], "labels of the page's own charts are cut off"

    # The same page with charts of the longest labels, drawn by the same code.
    await page.evaluate(
        "svgs => document.querySelectorAll('.chart-card').forEach((card, i) => {"
        " card.querySelector('svg, .empty').outerHTML = svgs[i % svgs.length]; })",
        [str(svg) for svg in LONG_LABELS],
    )
    await expect(page.locator("svg.chart")).to_have_count(4)
    labels = await page.locator("svg.chart text.label").all_text_contents()
    assert "0.0005/s" in labels and "2500 ms" in labels and "0.005" in labels

    assert await page.evaluate(LABELS_OUTSIDE) == []


@pytest.mark.parametrize("width", list(WIDTHS))
async def test_long_endpoints_wrap_between_their_parts(page: Page, console: Console, width: str) -> None:
    hosted = hosted_server(console, f"endpoint-{width}", name="memorysequentialthinkingserver")
    await page.set_viewport_size(WIDTHS[width])
    await sign_in(page, hosted.email)

    for path in ("/dashboard", f"/servers/{hosted.id}"):
        await page.goto(path)
        endpoint = page.locator(f"#endpoint-{hosted.id}" if path == "/dashboard" else "#endpoint-url")
        await expect(endpoint).to_have_text(hosted.server["endpoint_url"])
        breaks = await endpoint.evaluate(LINE_BREAKS)
        inside_words = [pair for pair in breaks if pair[0].isalnum() and pair[1].isalnum()]
        assert not inside_words, f"{path}: the endpoint breaks inside a word at {inside_words} ({breaks})"
        if path == "/dashboard":
            assert breaks, "the endpoint is long enough to wrap on a card; it should, between its parts"


@pytest.mark.parametrize("width", list(WIDTHS))
async def test_copy_buttons_do_not_cover_what_they_copy(page: Page, console: Console, width: str) -> None:
    hosted = hosted_server(console, f"copy-{width}", name="a server with a long name for its command")
    await page.set_viewport_size(WIDTHS[width])
    await sign_in(page, hosted.email)
    await page.goto(f"/servers/{hosted.id}")

    for tab in ("Claude Code", "Claude Desktop", "VS Code", "Cursor", "Python SDK"):
        await page.get_by_role("tab", name=tab).click()
        overlaps = [seen for seen in await page.evaluate(COPY_OVERLAPS) if seen["overlap"]]
        assert overlaps == [], f"{tab}: {overlaps}"
    await page.goto("/docs/clients")
    assert [seen for seen in await page.evaluate(COPY_OVERLAPS) if seen["overlap"]] == []
