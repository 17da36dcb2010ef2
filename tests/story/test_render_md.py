"""The Markdown story: data never becomes markup (HTML, table cells, code fences), failures are told first
and located, the comparison is shown."""

from __future__ import annotations

import re

from odibi.story import render_md
from odibi.story.model import Comparison, FailureInfo, NodeDelta, Retyped, Sample
from tests.story.factory import HOSTILE, sample_story


def _outside_fences(md: str) -> str:
    """The document without its fenced code blocks (their content is literal)."""
    out, fence = [], None
    for line in md.splitlines():
        bare = line[2:] if line.startswith("> ") else line
        m = re.match(r"(`{3,})", bare)
        if fence is None and m:
            fence = m.group(1)
        elif fence is not None and bare.strip() == fence:
            fence = None
        elif fence is None:
            out.append(line)
    return "\n".join(out)


def _tables(md: str) -> list[list[str]]:
    """Each table's lines (consecutive lines starting with '|')."""
    tables, current = [], []
    for line in md.splitlines():
        if line.startswith("|"):
            current.append(line)
        elif current:
            tables.append(current)
            current = []
    if current:
        tables.append(current)
    return tables


def _cells(line: str) -> int:
    """The number of cells of a table row (pipes not escaped by a backslash separate cells)."""
    body = re.sub(r"\\.", "", line.strip())
    return body.count("|") - 1


def test_the_extension_and_the_head():
    md = render_md.render(sample_story())
    assert render_md.EXTENSION == "md"
    assert md.startswith("# Shop &lt;b&gt;sales&lt;/b&gt;: run failed\n")
    assert "20261202T100000Z-abcd1234" in md
    assert "| Engine | duckdb |" in md
    assert "odibi 0.5.0, python 3.11.7, duckdb 1.4.1" in md
    assert "odibi.yaml (hash 0123456789abcdef)" in md


def test_hostile_strings_are_escaped():
    md = render_md.render(sample_story())
    text = _outside_fences(md)
    for hostile in HOSTILE:
        assert hostile not in text
    assert "<script" not in text and "<img" not in text and "<b>" not in text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in text
    assert '"&gt;&lt;img src=x onerror=alert(1)&gt;' in text


def test_markdown_syntax_in_data_is_escaped():
    story = sample_story()
    story.nodes[0].notes = ["see [here](javascript:alert(1)) and ![x](http://evil/x.png) `code` *em* _u_"]
    md = render_md.render(story)
    assert r"see \[here\](javascript:alert(1)) and !\[x\](http://evil/x.png) \`code\` \*em\* \_u\_" in md
    # underscores inside words stay readable
    assert "bronze.raw_sales" in md


def test_pipes_and_newlines_in_cells_do_not_break_tables():
    story = sample_story()
    raw = story.nodes[0]
    raw.sample = Sample(
        columns=["id", "a|b", "text"],
        rows=[[1, "x|y", "line1\nline2\r\nline3"], [2, "back\\|slash", "end\\"], [3, None, "a\u2028b"]],
    )
    story.nodes[1].checks[0].message = "one | two\nthree"
    md = render_md.render(story)
    for table in _tables(md):
        widths = {_cells(line) for line in table}
        assert len(widths) == 1, table
    assert r"| a\|b | text |" in md
    assert r"| 1 | x\|y | line1<br>line2<br>line3 |" in md
    assert r"| 2 | back\\\|slash | end\\ |" in md
    assert "| 3 | null | a<br>b |" in md
    assert r"one \| two<br>three" in md


def test_sample_cells_are_truncated_and_rows_padded():
    story = sample_story()
    story.nodes[0].sample = Sample(columns=["a", "b"], rows=[["x" * 200, True], [1.5], [{"k": [1, 2]}, 1, 2]])
    md = render_md.render(story)
    assert "| " + "x" * 79 + "… | true |" in md
    assert "| 1.5 |  |" in md
    assert '| {"k": \\[1, 2\\]} | 1 |' in md
    assert "first 3 rows" in md


def test_sql_with_backticks_gets_a_longer_fence():
    story = sample_story()
    story.nodes[1].sql = "SELECT '```' AS a, '`````' AS b\n-- <script>\nFROM t"
    md = render_md.render(story)
    assert "``````sql\nSELECT '```' AS a, '`````' AS b\n-- <script>\nFROM t\n``````\n" in md


def test_plain_sql_gets_a_sql_fence():
    md = render_md.render(sample_story())
    assert "```sql\nSELECT id, UPPER(name) AS name FROM raw_sales WHERE amount > 0\n```" in md


def test_a_failed_node_shows_its_failure_first():
    md = render_md.render(sample_story())
    section = md[md.index("### bronze.clean_sales (failed)") : md.index("### bronze.gold_sales")]
    failure = section.index("**Failed** (sql error)")
    assert failure < section.index("- Inputs: raw_sales")
    assert failure < section.index("**SQL**")
    assert "> - Stage: step 1" in section
    assert "> - Location: odibi.yaml:14:13" in section
    assert '> - Message: Binder Error: column "amount" not found' in section
    assert "> - Hint: columns: id, name" in section
    assert "> - Error type: duckdb.BinderException" in section
    assert "- Attempt 1: io error in read: connection reset" in section


def test_a_multiline_failure_message_is_fenced_inside_the_quote():
    story = sample_story()
    story.nodes[1].failure = FailureInfo(
        kind="sql", stage="step 2", message="Parser Error: syntax error\nLINE 1: SELECT ```\n       ^",
        location="odibi.yaml:3:1", traceback="Traceback (most recent call last):\n  File <x>",
    )  # fmt: skip
    md = render_md.render(story)
    assert "> - Message: (below)" in md
    assert "> ````text\n> Parser Error: syntax error\n> LINE 1: SELECT ```\n>        ^\n> ````" in md
    assert "> ```text\n> Traceback (most recent call last):\n>   File <x>\n> ```" in md


def test_skipped_and_not_run_nodes_give_their_reason():
    story = sample_story()
    md = render_md.render(story)
    assert "**Skipped:** upstream node 'clean_sales' failed" in md
    story.nodes[2].status = "not_run"
    story.nodes[2].reason = None
    assert "**Not run:** no reason recorded" in render_md.render(story)


def test_node_table_schema_checks_and_writes():
    md = render_md.render(sample_story())
    assert "| Node | Status | Rows in | Rows out | Duration | Attempts | Written to |" in md
    assert "| bronze.raw_sales | success | 4 | 4 | 120 ms | 1 |  |" in md
    assert "| bronze.gold_sales | skipped |  |  |  | 0 | out:gold/sales.parquet |" in md
    assert "| id | integer |" in md
    assert "- Retyped: id: integer → string" in md
    assert "| no_nulls(email) | warned | 100 | 100 rows |" in md
    assert "| out:gold/sales.parquet | out | parquet | overwrite |  |  | output |" in md


def test_the_comparison_section():
    story = sample_story()
    story.comparison = Comparison(
        base_run_id="20261201T100000Z-00000000",
        base_status="success",
        base_started_at="2026-12-01T10:00:00Z",
        duration_before_s=0.2,
        duration_after_s=0.3,
        unchanged=1,
        nodes=[
            NodeDelta(pipeline="bronze", name="raw_sales", rows_before=3, rows_after=4,
                      duration_before_s=0.1, duration_after_s=0.12, added=[HOSTILE[0]]),
            NodeDelta(pipeline="bronze", name="clean_sales", status_before="success", status_after="failed",
                      retyped=[Retyped(name="id", before="integer", after="string")], removed=["x|y"]),
            NodeDelta(pipeline="bronze", name="gold_sales", change="new", status_after="skipped"),
            NodeDelta(pipeline="bronze", name="old", change="gone", status_before="success", rows_before=7),
        ],
    )  # fmt: skip
    md = render_md.render(story)
    section = md[md.index("## Compared with run 20261201T100000Z-00000000") :]
    assert (
        "Base run: success, started 2026-12-01T10:00:00Z, run time 200 ms → 300 ms, 1 node unchanged."
        in section
    )
    assert "| Node | Change | Status | Rows | Duration | Schema |" in section
    assert (
        "| bronze.raw_sales | changed |  | 3 → 4 (+1) | 100 ms → 120 ms | added: &lt;script&gt;alert(1)&lt;/script&gt; |"
        in section
    )
    assert (
        "| bronze.clean_sales | changed | success → failed |  |  | removed: x\\|y; retyped: id integer → string |"
        in (section)
    )
    assert "| bronze.gold_sales | new | skipped |  |  |  |" in section
    assert "| bronze.old | gone | success | 7 |  |  |" in section


def test_no_comparison_no_section():
    story = sample_story().model_copy(update={"comparison": None})
    assert "Compared with" not in render_md.render(story)


def test_a_run_error_and_a_story_without_nodes():
    story = sample_story().model_copy(update={"nodes": [], "error": "engine <died>", "comparison": None})
    md = render_md.render(story)
    assert "**The run stopped:** engine &lt;died&gt;" in md
    assert "No nodes ran." in md


# --- the renderer registry (odibi.story.renderers) ------------------------------------------------------------


def test_the_registry_knows_the_builtins_and_renders_by_name():
    from odibi.story import render_json, renderers

    story = sample_story()
    assert renderers.names()[:3] == ["json", "md", "html"]
    assert render_json.EXTENSION == "json"
    assert renderers.render(story, "json") == story.to_json()
    assert renderers.render(story, "md") == render_md.render(story)
    assert renderers.get("md") is render_md


def test_an_unknown_renderer_is_a_usage_error_with_a_suggestion():
    import pytest

    from odibi.errors import UsageError
    from odibi.story import renderers

    with pytest.raises(UsageError) as err:
        renderers.get("mdd")
    assert err.value.exit_code == 2
    assert "unknown story format 'mdd' (did you mean 'md'?)" in err.value.message


def test_a_plugin_renderer_from_an_entry_point(monkeypatch):
    import types
    from importlib.metadata import EntryPoint

    from odibi.story import renderers

    plugin = types.ModuleType("odibi_test_story_txt")
    plugin.EXTENSION = "txt"
    plugin.render = lambda story: f"run {story.run_id}\n"
    monkeypatch.setitem(__import__("sys").modules, "odibi_test_story_txt", plugin)
    ep = EntryPoint(name="txt", value="odibi_test_story_txt", group=renderers.ENTRY_POINT_GROUP)
    monkeypatch.setattr(renderers, "entry_points", lambda group: [ep] if group == ep.group else [])
    monkeypatch.setattr(renderers, "_LOADED", {})
    assert renderers.names() == ["json", "md", "html", "txt"]
    assert renderers.render(sample_story(), "txt") == "run 20261202T100000Z-abcd1234\n"


def test_importing_the_registry_imports_no_renderer():
    import subprocess
    import sys

    code = (
        "import sys, odibi.story.renderers, odibi.cli.app; "
        "print(sorted(m for m in sys.modules if m == 'jinja2' or m.startswith('odibi.story.render_')))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
