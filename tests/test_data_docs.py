"""The validation page (data_docs/index.html): the user's columns and rule names with exact counts, no
internal columns, personal values masked, and it renders fully offline (no script, no external link)."""

from __future__ import annotations

import json
import re

import pytest

from tests.browser import chromium, png_pixels, screenshot
from tests.test_bad_input import HEADER, PRODUCTS, make, order, run


@pytest.fixture
def page(tmp_path):
    rows = order() + order(qty="2") + order("O2", qty="0") + order("O3", sku="SKU-9")
    tickets = [{"id": "T1", "at": "2026-11-20T01:00:00Z", "channel": "chat", "customer": {"email": "mei.lin(at)gmail"}},
               {"id": "T2", "at": "2026-11-20T02:00:00Z", "channel": "chat", "customer": {"email": "a@b.tw"}}]
    spec = make(tmp_path, {"erp/products.csv": PRODUCTS, "shop/orders.csv": HEADER + rows,
                           "support/tickets.json": json.dumps(tickets)})
    run(spec, ["erp", "shop", "support"])
    return spec.path("out", "data_docs", "index.html")


def _row(html: str, source: str, rule: str) -> list[str]:
    """The cells (tags stripped) of `rule`'s row in `source`'s table."""
    section = html.split(f'<h2 id="{source}">')[1].split("</table>")[0]
    row = next(r for r in section.split("<tr>") if r.startswith(f"<td>{rule}</td>"))
    return [re.sub(r"<[^>]+>", "", c) for c in re.findall(r"<td[^>]*>(.*?)</td>", row)]


def test_rules_by_name_with_the_exports_columns_and_exact_counts(page):
    html = page.read_text(encoding="utf-8")
    assert _row(html, "shop__orders", "range:quantity") == [
        "range:quantity", "quantity", "between 1.0 and 1000.0", "reject", "failed (reject)", "1", "25.00%", "0"]
    assert _row(html, "shop__orders", "relation:sku") == [
        "relation:sku", "sku", "has a match in erp__products.sku", "reject", "failed (reject)", "1", "25.00%", ""]
    assert _row(html, "shop__orders", "unique:order_id,line_no")[:2] == ["unique:order_id,line_no", "order_id, line_no"]
    assert _row(html, "shop__orders", "unique:order_id,line_no")[4:6] == ["failed (reject)", "1"]
    assert _row(html, "shop__orders", "accepted_values:currency")[2:6] == ["one of TWD", "reject", "passed", "0"]
    # the source column of a mapped field, the warn rule counted, the personal value only as its shape
    assert _row(html, "support__tickets", "shape:email") == [
        "shape:email", "customer.email", "looks like a valid email address", "warn", "warning", "1", "50.00%",
        "xxx.xxx(xx)xxxxx"]
    assert "mei.lin" not in html
    assert not re.search(r"_key_rank|_orphan__|_unparsed__|_formula_field|_long_field|_row_id", html)


def test_the_page_needs_no_network(page, tmp_path):
    html = page.read_text(encoding="utf-8")
    assert "<script" not in html and "<link" not in html and not re.search(r"(src|href)=\"(https?:)?//", html)
    if chromium() is None:
        pytest.skip("chromium is not installed (make test installs it)")
    width, height, pixels = png_pixels(screenshot(page, tmp_path / "docs.png", 1000, 700))
    # rendered with its own styles, offline: the header cells' grey and the failed rules' red are drawn
    assert (245, 247, 250) in set(pixels) and (180, 35, 24) in set(pixels)
