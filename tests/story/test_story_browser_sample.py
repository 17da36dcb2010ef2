"""The HTML story of the hand-made run in a real browser (headless Chromium): it renders, shows every node
in the DAG and in a panel, shows the hostile strings as text, runs nothing, fires no alert, requests
nothing. A canary page with the same hostile strings left raw proves the checks see what they look for.

One browser for the module; the screenshot is kept in the test's folder (``--basetemp`` to keep it)."""

from __future__ import annotations

from pathlib import Path

import pytest

from odibi.story.render_html import render
from tests.story.browser import PageReport, launch_chromium, open_story, require_chromium
from tests.story.factory import HOSTILE, sample_story

pytestmark = pytest.mark.timeout(120)

CANARY = f"""<!DOCTYPE html><html><head><meta charset="utf-8"></head><body>
<p>{HOSTILE[0]}</p><p>{HOSTILE[1]}</p>
<script>console.error("canary"); throw new Error("canary page error");</script>
</body></html>"""


@pytest.fixture(scope="module")
def pages(tmp_path_factory) -> dict[str, tuple[PageReport, Path]]:
    require_chromium()
    folder = tmp_path_factory.mktemp("story_browser")
    story_html = folder / "story.html"
    story_html.write_text(render(sample_story()), encoding="utf-8")
    canary_html = folder / "canary.html"
    canary_html.write_text(CANARY, encoding="utf-8")
    with launch_chromium() as browser:
        story = open_story(story_html, folder / "story.png", browser=browser)
        canary = open_story(canary_html, folder / "canary.png", browser=browser)
    return {"story": (story, folder / "story.png"), "canary": (canary, folder / "canary.png")}


@pytest.fixture(scope="module")
def report(pages) -> PageReport:
    return pages["story"][0]


def test_the_checks_see_a_hostile_page(pages):
    canary, _ = pages["canary"]
    assert canary.dialogs == ["alert: 1", "alert: 1"]  # the raw <script> and the <img onerror> fired
    assert canary.handler_attributes == ["img[onerror]"]
    assert canary.scripts == 2
    assert "<script>" not in canary.body_text
    assert any("canary" in e for e in canary.console_errors)
    assert any("canary page error" in e for e in canary.page_errors)
    assert any(u.endswith("/x") for u in canary.requests)  # <img src=x>, aborted


def test_screenshot(pages):
    _, png = pages["story"]
    assert png.is_file()
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert png.stat().st_size > 10_000


def test_every_node_in_the_dag_and_a_panel(report):
    keys = [n.key for n in sample_story().nodes]
    assert sorted(report.dag_nodes) == sorted(keys)
    assert sorted(report.panels) == sorted(keys)
    assert len(report.dag_nodes) == len(report.panels) == 3


def test_nothing_ran_fired_or_was_requested(report):
    assert report.console_errors == []
    assert report.page_errors == []
    assert report.dialogs == []
    assert report.scripts == 0
    assert report.handler_attributes == []
    assert report.requests == []


def test_hostile_text_is_shown_as_text(report):
    for text in HOSTILE[:2]:
        assert text in report.body_text
    assert "Shop <b>sales</b>" in report.body_text
    assert 'Binder Error: column "amount" not found' in report.body_text
    assert "odibi.yaml:14:13" in report.body_text
