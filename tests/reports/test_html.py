"""The HTML report: one self-contained page with inline SVG charts; matplotlib only when asked."""

from __future__ import annotations

import re
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path

import pytest

from propcrm.errors import OptionalDependencyError, ValidationError
from propcrm.reports import Dashboard, build_dashboard, render_html, render_text, write_html

from ._data import (
    AS_OF,
    HOUSEHOLDS,
    ID_NUMBER,
    PERIOD,
    PHONE,
    delivery_events,
    histories,
    org,
    surveys,
    transactions,
)

pytest.importorskip("matplotlib")
pytest.importorskip("jinja2")


@pytest.fixture(scope="module")
def full() -> Dashboard:
    return build_dashboard(
        histories(),
        households=HOUSEHOLDS,
        period=PERIOD,
        as_of=AS_OF,
        org=org(),
        surveys=surveys(),
        delivery_events=delivery_events(),
        transactions=transactions(),
        title=f"<春季> 报告 {PHONE}",
    )


@pytest.fixture(scope="module")
def pages(full: Dashboard) -> dict[str, str]:
    return {lang: render_html(full, lang=lang) for lang in ("en", "zh")}


class _Links(HTMLParser):
    """Every URL the page would load or link to, and the ids it defines."""

    def __init__(self) -> None:
        super().__init__()
        self.urls: list[str] = []
        self.ids: list[str] = []
        self.tags: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        for name, value in attrs:
            if name in ("src", "href", "xlink:href", "action", "data") and value:
                self.urls.append(value)
            if name == "id" and value:
                self.ids.append(value)


def test_page_is_self_contained(pages: dict[str, str]) -> None:
    for page in pages.values():
        parser = _Links()
        parser.feed(page)
        assert all(url.startswith("#") for url in parser.urls), parser.urls
        assert not re.search(r"(src|href)\s*=\s*[\"']?https?://", page)
        assert "@import" not in page and "url(http" not in page
        assert not {"script", "link", "img", "iframe"} & set(parser.tags)
        assert page.count("<svg") == 5  # trends, Pareto, SLA, segments, delivery
        assert len(parser.ids) == len(set(parser.ids))  # ids of the charts do not clash
        assert "<?xml" not in page and "<!DOCTYPE svg" not in page


def test_charts_keep_text_as_text(pages: dict[str, str]) -> None:
    zh = pages["zh"]
    svgs = re.findall(r"<svg.*?</svg>", zh, flags=re.S)
    texts = " ".join(" ".join(re.findall(r"<text[^>]*>([^<]*)</text>", s)) for s in svgs)
    # svg.fonttype = 'none': labels are <text> the browser draws, with CJK fonts named first.
    for label in ("受理工单数", "维修及时率", "投诉焦点", "环境", "首次响应", "蝴蝶客"):
        assert label in texts, label
    assert "font-family: 'Noto Sans CJK SC'" in svgs[0]
    assert "Repair timeliness" in pages["en"] and "Repair timeliness" not in texts


def test_first_screen_order_and_content(full: Dashboard, pages: dict[str, str]) -> None:
    page = pages["en"]
    title = page.index("<h1>")
    tiles = page.index('class="tiles"')
    first_chart = page.index("<svg")
    tables = page.index("<table")
    assert title < tiles < first_chart < tables
    assert "2025-03-01 to 2025-04-30" in page[:tiles]
    assert "500 households · 2 companies · 2 projects · 10 tickets" in page[:tiles]
    tile_html = page[tiles:first_chart]
    assert tile_html.count('class="tile ') == len(full.kpis)
    assert tile_html.count('class="tile met"') == sum(t.status == "met" for t in full.kpis)
    assert tile_html.count('class="tile missed"') == sum(t.status == "missed" for t in full.kpis)
    assert 'lang="zh-CN"' in pages["zh"] and 'lang="en"' in page


def test_text_is_escaped_and_pii_masked(pages: dict[str, str]) -> None:
    for page in pages.values():
        assert "&lt;春季&gt; 报告 139****5678" in page
        assert "<春季>" not in page
        assert PHONE not in page and ID_NUMBER not in page and "王芳" not in page


def test_skipped_sections_say_why() -> None:
    bare = build_dashboard([], households=HOUSEHOLDS, period=PERIOD, as_of=AS_OF)
    page = render_html(bare, lang="zh")
    assert "未提供交易数据,跳过RFM客户分群。" in page and "未提供交付事件" in page
    assert "本期没有有效投诉" in page
    assert page.count("<svg") == 1  # only the SLA chart: every other section is empty


def test_write_html(full: Dashboard, tmp_path: Path) -> None:
    path = write_html(full, tmp_path / "out" / "report.html", lang="zh")
    assert path == tmp_path / "out" / "report.html"
    assert path.read_text(encoding="utf-8").startswith("<!DOCTYPE html>")
    with pytest.raises(ValidationError) as err:
        write_html(full, tmp_path / "x.html", lang="de")
    assert err.value.paths == ("$.lang",)
    assert not (tmp_path / "x.html").exists()


def test_missing_matplotlib_is_a_clear_error(
    full: Dashboard, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    with pytest.raises(OptionalDependencyError) as err:
        render_html(full)
    assert err.value.extra == "report" and "propcrm[report]" in str(err.value)
    assert "KPIs against targets" in render_text(full)  # text needs nothing optional


def test_rendering_text_never_imports_matplotlib() -> None:
    code = (
        "import sys\n"
        "from datetime import date, datetime, timezone\n"
        "from propcrm.reports import build_dashboard, render_text\n"
        "d = build_dashboard([], households={'p': 1}, period=(date(2025, 1, 1), "
        "date(2025, 2, 1)), as_of=datetime(2025, 2, 1, tzinfo=timezone.utc))\n"
        "render_text(d); render_text(d, lang='zh')\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('matplotlib', 'jinja2')))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120
    )
    assert out.stdout.strip() == "[]"
