"""``odibi story list | show | diff`` on stories put in a project's default story folder by the test."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from odibi.cli.app import app
from odibi.story.model import Column, Story
from odibi.story.store import project_slug
from tests.story.factory import sample_story

PROJECT = """\
project: Story CLI
connections:
  d: {type: local, base_path: ./data}
pipelines:
  - pipeline: bronze
    nodes:
      - name: raw_sales
        read: {connection: d, path: sales.csv}
"""

OLD = "20261201T100000Z-00000001"
MID = "20261202T100000Z-00000002"
NEW = "20261203T100000Z-abcd1234"

HAS_HTML = importlib.util.find_spec("odibi.story.render_html") is not None


def _story(run_id: str, status: str, **update) -> Story:
    return sample_story().model_copy(
        update={"run_id": run_id, "status": status, "comparison": None, **update}
    )


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A project with three stories: OLD (success, JSON + Markdown), MID (success, JSON only),
    NEW (failed, JSON + a stored Markdown marker); returns the project file."""
    root = tmp_path / "proj"
    root.mkdir()
    cfg = root / "odibi.yaml"
    cfg.write_text(PROJECT, encoding="utf-8")
    folder = root / ".odibi" / "stories" / project_slug("Story CLI")
    folder.mkdir(parents=True)
    old = _story(OLD, "success")
    old.nodes[0].rows_out = 3
    mid = _story(MID, "success")
    new = _story(NEW, "failed")
    new.nodes[0].columns = [*new.nodes[0].columns, Column(name="added_col", type="date")]
    for story in (old, mid, new):
        (folder / f"{story.run_id}.json").write_text(story.to_json(), encoding="utf-8")
    (folder / f"{OLD}.md").write_text("# stored markdown of OLD\n", encoding="utf-8")
    (folder / f"{NEW}.md").write_text("# stored markdown of NEW\n", encoding="utf-8")
    (folder / "notes.txt").write_text("not a story", encoding="utf-8")
    return cfg


def _run(*args: str):
    return CliRunner().invoke(app, ["story", *args])


def test_list_text(project):
    result = _run("list", str(project))
    assert result.exit_code == 0, result.output
    out = result.output
    assert "odibi stories: Story CLI" in out
    lines = [line for line in out.splitlines() if "2026120" in line]
    assert [next(r for r in (NEW, MID, OLD) if r in line) for line in lines] == [NEW, MID, OLD]
    assert "failed" in lines[0] and "json md" in lines[0] and "duckdb" in lines[0]
    assert "success" in lines[1] and "json" in lines[1] and "md" not in lines[1]
    assert "notes.txt" not in out


def test_list_the_folder_and_a_limit(project, monkeypatch):
    monkeypatch.chdir(project.parent)
    result = _run("list", "--limit", "1")
    assert result.exit_code == 0, result.output
    assert NEW in result.output and MID not in result.output
    result = _run("list", str(project.parent), "--limit", "2")
    assert MID in result.output and OLD not in result.output


def test_list_json(project):
    result = _run("list", str(project), "--format", "json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert [e["run_id"] for e in data] == [NEW, MID, OLD]
    first = data[0]
    assert (first["status"], first["nodes"], first["failed"], first["engine"]) == ("failed", 3, 1, "duckdb")
    assert first["started_at"] == "2026-12-02T10:00:00.000Z"
    assert sorted(first["files"]) == ["json", "md"]


def test_list_of_a_project_without_stories(tmp_path):
    cfg = tmp_path / "odibi.yaml"
    cfg.write_text(PROJECT, encoding="utf-8")
    result = _run("list", str(cfg))
    assert result.exit_code == 0, result.output
    assert "no stories of project Story CLI" in result.output


def test_list_with_a_bad_config_or_format(tmp_path):
    result = _run("list", str(tmp_path / "missing.yaml"))
    assert result.exit_code == 2
    assert "no project file at" in result.output
    bad = tmp_path / "odibi.yaml"
    bad.write_text(
        "project: x\nconnections: {}\npipelines:\n  - pipeline: p\n    nodez: []\n", encoding="utf-8"
    )
    result = _run("list", str(bad))
    assert result.exit_code == 2
    assert "odibi.yaml:" in result.output  # a located config error
    result = _run("list", str(bad), "--format", "xml")
    assert result.exit_code == 2
    assert "unknown --format 'xml'" in result.output


def test_show_the_stored_markdown(project):
    result = _run("show", "-c", str(project))
    assert result.exit_code == 0, result.output
    assert result.stdout == "# stored markdown of NEW\n"
    result = _run("show", OLD, "-c", str(project), "--format", "md")
    assert result.stdout == "# stored markdown of OLD\n"


def test_show_renders_markdown_when_none_is_stored(project):
    result = _run("show", "previous", "--config", str(project))
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("# Shop &lt;b&gt;sales&lt;/b&gt;: run success\n")
    assert MID in result.stdout


def test_show_json_by_a_part_of_the_run_id(project):
    result = _run("show", "abcd1234", "-c", str(project), "--format", "json")
    assert result.exit_code == 0, result.output
    story = Story.from_json(result.stdout)
    assert story.run_id == NEW and story.status == "failed"


def test_show_to_a_file(project, tmp_path):
    target = tmp_path / "out.json"
    result = _run("show", "last-success", "-c", str(project), "--format", "json", "--output", str(target))
    assert result.exit_code == 0, result.output
    assert Story.from_json(target.read_text(encoding="utf-8")).run_id == MID
    assert MID not in result.stdout
    assert f"wrote {target}" in result.output


def test_show_an_unknown_run(project):
    result = _run("show", "20990101", "-c", str(project))
    assert result.exit_code == 2
    assert "no story of run '20990101'" in result.output
    assert "odibi story list" in result.output


def test_show_an_ambiguous_run(project):
    result = _run("show", "2026120", "-c", str(project))
    assert result.exit_code == 2
    assert "'2026120' matches 3 stories" in result.output


def test_show_an_unknown_format(project):
    result = _run("show", "-c", str(project), "--format", "markdown")
    assert result.exit_code == 2
    assert "unknown story format 'markdown'" in result.output


def test_show_masks_secrets(project):
    from odibi import secrets

    secrets.register("abcd1234")
    result = _run("show", "last", "-c", str(project), "--format", "json")
    assert result.exit_code == 0, result.output
    assert "abcd1234" not in result.stdout and "***" in result.stdout


@pytest.mark.skipif(not HAS_HTML, reason="odibi/story/render_html.py is not there yet")
def test_show_html_falls_back_to_rendering(project):
    result = _run("show", NEW, "-c", str(project), "--format", "html")
    assert result.exit_code == 0, result.output
    assert "<html" in result.stdout.lower()
    assert "<script>alert(1)</script>" not in result.stdout


def test_open_uses_the_stored_local_html(project, monkeypatch):
    opened = []
    monkeypatch.setattr("webbrowser.open", lambda url: opened.append(url) or True)
    html = project.parent / ".odibi" / "stories" / project_slug("Story CLI") / f"{NEW}.html"
    html.write_text("<html>stored</html>", encoding="utf-8")
    result = _run("show", "--open", "-c", str(project))
    assert result.exit_code == 0, result.output
    assert opened == [html.resolve().as_uri()]
    assert f"opened {html.resolve().as_uri()}" in result.output


@pytest.mark.skipif(not HAS_HTML, reason="odibi/story/render_html.py is not there yet")
def test_open_renders_html_to_a_temporary_file_when_none_is_stored(project, monkeypatch):
    opened = []
    monkeypatch.setattr("webbrowser.open", lambda url: opened.append(url) or True)
    result = _run("show", MID, "--open", "-c", str(project))
    assert result.exit_code == 0, result.output
    (url,) = opened
    path = Path(url.removeprefix("file://"))
    try:
        assert path.name.startswith(f"odibi-story-{MID}") and path.suffix == ".html"
        assert "<html" in path.read_text(encoding="utf-8").lower()
    finally:
        path.unlink()


def test_open_shows_only_html(project):
    result = _run("show", "--open", "--format", "md", "-c", str(project))
    assert result.exit_code == 2
    assert "--open shows the HTML story" in result.output


def test_diff_previous_last(project):
    result = _run("diff", "previous", "last", "-c", str(project))
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert out.startswith(f"run {NEW} compared with run {MID} (success,")
    assert "nodes: 1 changed, 0 new, 0 gone, 2 unchanged" in out
    assert "bronze.raw_sales" in out and "columns added: added_col" in out


def test_diff_json_and_md(project):
    result = _run("diff", OLD, "last", "-c", str(project), "--format", "json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["base_run_id"] == OLD and data["base_status"] == "success"
    (delta,) = data["nodes"]
    assert (delta["name"], delta["rows_before"], delta["rows_after"], delta["added"]) == (
        "raw_sales", 3, 4, ["added_col"],
    )  # fmt: skip
    assert data["unchanged"] == 2
    result = _run("diff", OLD, MID, "-c", str(project), "--format", "md")
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith(f"## Run {MID} compared with run {OLD}\n")
    assert "| bronze.raw_sales | changed | success | 3 → 4 (+1) |" in result.stdout


def test_diff_errors(project):
    result = _run("diff", "last", "nope", "-c", str(project))
    assert result.exit_code == 2
    assert "no story of run 'nope'" in result.output
    result = _run("diff", "last", "previous", "-c", str(project), "--format", "html")
    assert result.exit_code == 2
    result = _run("diff", "last", "-c", str(project))
    assert result.exit_code == 2  # both runs are required
