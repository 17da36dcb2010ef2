"""The HTML story of a real DuckDB run, opened in headless Chromium: a project whose name, column names
and values hold markup (and a node that fails on one of those values). The page renders, shows the DAG
and every node's panel, shows the markup as text, runs nothing and fires no alert."""

from __future__ import annotations

import csv
import textwrap
from pathlib import Path

import pytest

from odibi import api
from tests.story.browser import open_story, require_chromium
from tests.story.factory import HOSTILE

pytestmark = pytest.mark.timeout(180)


def _hostile_project(folder):
    (folder / "data").mkdir()
    with open(folder / "data" / "raw.csv", "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["id", *HOSTILE])
        writer.writerow([1, *HOSTILE])
        writer.writerow([2, "plain", "text", "here"])
    cfg = folder / "odibi.yaml"
    name = HOSTILE[0].replace('"', "")
    cfg.write_text(
        textwrap.dedent(
            f"""\
            project: '{name} shop'
            connections:
              data: {{type: local, base_path: ./data}}
              out: {{type: local, base_path: ./out}}
            pipelines:
              - pipeline: web
                nodes:
                  - name: raw
                    read: {{connection: data, path: raw.csv}}
                  - name: copied
                    depends_on: [raw]
                    transform:
                      steps:
                        - SELECT * FROM raw
                    write: {{connection: out, path: copied.parquet}}
                  - name: broken
                    depends_on: [raw]
                    transform:
                      steps:
                        - SELECT CAST("{HOSTILE[2]}" AS INTEGER) AS n FROM raw
                    write: {{connection: out, path: broken.parquet}}
                  - name: after_broken
                    depends_on: [broken]
                    transform:
                      steps:
                        - SELECT n + 1 AS m FROM broken
                    write: {{connection: out, path: after.parquet}}
            """
        ),
        encoding="utf-8",
    )
    return cfg


def test_the_html_story_of_a_real_run_in_chromium(tmp_path):
    require_chromium()
    cfg = _hostile_project(tmp_path)
    result = api.run_project(cfg)
    assert not result.ok and result.story_error is None
    statuses = {n.node: n.status for n in result.nodes}
    assert statuses == {"raw": "success", "copied": "success", "broken": "failed", "after_broken": "skipped"}
    html = Path(result.story["html"])
    text = html.read_text(encoding="utf-8")
    for bad in ("<script>alert", "<img src=x"):
        assert bad not in text

    screenshot = tmp_path / "story.png"
    page = open_story(html, screenshot)
    assert screenshot.stat().st_size > 10_000
    keys = {f"web.{n}" for n in statuses}
    assert set(page.dag_nodes) == keys
    assert set(page.panels) == keys
    assert page.console_errors == [] and page.page_errors == [] and page.dialogs == []
    assert page.scripts == 0 and page.handler_attributes == [] and page.requests == []
    for hostile in HOSTILE:
        assert hostile in page.body_text  # shown as text: in the column names and the sample
    assert "Conversion Error" in page.body_text  # the failing node's panel shows its error
