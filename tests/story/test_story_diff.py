"""Two stories compared: nodes matched by (pipeline, name), schema drift from their columns, row, status and
(noticeable) duration changes, new and gone nodes, the unchanged count."""

from __future__ import annotations

import json

from odibi.story.diff import compare, duration_changed, render_text
from odibi.story.model import Column, NodeStory, Retyped, Story
from tests.story.factory import sample_story


def _node(name: str, pipeline: str = "p", **kw) -> NodeStory:
    kw.setdefault("status", "success")
    kw.setdefault("rows_out", 10)
    kw.setdefault("duration_s", 1.0)
    kw.setdefault("columns", [Column(name="id", type="integer"), Column(name="name", type="string")])
    return NodeStory(pipeline=pipeline, name=name, **kw)


def _story(run_id: str, nodes: list[NodeStory], **kw) -> Story:
    base = sample_story()
    return base.model_copy(update={"run_id": run_id, "nodes": nodes, "comparison": None, **kw})


BASE_ID = "20261201T100000Z-00000001"
CUR_ID = "20261202T100000Z-00000002"


def test_identical_runs_have_no_deltas():
    nodes = [_node("a"), _node("b")]
    cmp = compare(_story(BASE_ID, nodes), _story(CUR_ID, [n.model_copy() for n in nodes]))
    assert cmp.nodes == []
    assert cmp.unchanged == 2


def test_the_base_run_is_described():
    base = _story(BASE_ID, [_node("a")], status="success", started_at="2026-12-01T10:00:00Z", duration_s=2.0)
    current = _story(CUR_ID, [_node("a")], duration_s=3.5)
    cmp = compare(base, current)
    assert cmp.base_run_id == BASE_ID
    assert cmp.base_started_at == "2026-12-01T10:00:00Z"
    assert cmp.base_status == "success"
    assert (cmp.duration_before_s, cmp.duration_after_s) == (2.0, 3.5)


def test_added_removed_and_retyped_columns():
    before = _node("a", columns=[Column(name="id", type="integer"), Column(name="old", type="string"),
                                 Column(name="amount", type="integer")])  # fmt: skip
    after = _node("a", columns=[Column(name="id", type="integer"), Column(name="amount", type="decimal"),
                                Column(name="new", type="date")])  # fmt: skip
    cmp = compare(_story(BASE_ID, [before, _node("b")]), _story(CUR_ID, [after, _node("b")]))
    assert cmp.unchanged == 1
    (delta,) = cmp.nodes
    assert (delta.pipeline, delta.name, delta.change) == ("p", "a", "changed")
    assert delta.added == ["new"]
    assert delta.removed == ["old"]
    assert delta.retyped == [Retyped(name="amount", before="integer", after="decimal")]
    # every delta carries the node's figures on both sides
    assert (delta.rows_before, delta.rows_after) == (10, 10)
    assert (delta.status_before, delta.status_after) == ("success", "success")
    assert (delta.duration_before_s, delta.duration_after_s) == (1.0, 1.0)


def test_row_and_status_changes():
    base = _story(BASE_ID, [_node("a", rows_out=10), _node("b"), _node("c")])
    current = _story(
        CUR_ID, [_node("a", rows_out=12), _node("b", status="failed", rows_out=None), _node("c")]
    )
    cmp = compare(base, current)
    assert cmp.unchanged == 1
    a, b = cmp.nodes
    assert (a.name, a.rows_before, a.rows_after) == ("a", 10, 12)
    assert (b.name, b.status_before, b.status_after, b.rows_after) == ("b", "success", "failed", None)


def test_nodes_are_matched_by_pipeline_and_name():
    base = _story(BASE_ID, [_node("a", pipeline="p1"), _node("a", pipeline="p2", rows_out=5)])
    current = _story(CUR_ID, [_node("a", pipeline="p1"), _node("a", pipeline="p2", rows_out=6)])
    cmp = compare(base, current)
    assert [(d.pipeline, d.name, d.rows_before, d.rows_after) for d in cmp.nodes] == [("p2", "a", 5, 6)]
    assert cmp.unchanged == 1


def test_new_and_gone_nodes():
    base = _story(BASE_ID, [_node("a"), _node("old", rows_out=3, duration_s=0.4)])
    current = _story(CUR_ID, [_node("a"), _node("fresh", rows_out=8, duration_s=0.2, status="failed")])
    cmp = compare(base, current)
    assert cmp.unchanged == 1
    new, gone = cmp.nodes
    assert (new.name, new.change, new.status_after, new.rows_after, new.duration_after_s) == (
        "fresh", "new", "failed", 8, 0.2,
    )  # fmt: skip
    assert new.status_before is None and new.rows_before is None
    assert (gone.name, gone.change, gone.status_before, gone.rows_before, gone.duration_before_s) == (
        "old", "gone", "success", 3, 0.4,
    )  # fmt: skip
    assert gone.status_after is None


def test_duration_counts_only_when_it_changed_noticeably():
    assert not duration_changed(1.0, 1.1)  # 10 %
    assert duration_changed(1.0, 1.5)  # 50 % and 0.5 s
    assert not duration_changed(0.01, 0.05)  # 400 % but 0.04 s
    assert duration_changed(0.1, 0.2)  # 100 % and 0.1 s
    assert duration_changed(2.0, 1.0)  # faster counts too
    base = _story(BASE_ID, [_node("a", duration_s=1.0), _node("b", duration_s=1.0)])
    current = _story(CUR_ID, [_node("a", duration_s=1.1), _node("b", duration_s=3.0)])
    cmp = compare(base, current)
    assert [(d.name, d.duration_before_s, d.duration_after_s) for d in cmp.nodes] == [("b", 1.0, 3.0)]
    assert cmp.unchanged == 1


def test_the_comparison_serialises():
    cmp = compare(_story(BASE_ID, [_node("a")]), _story(CUR_ID, [_node("a", rows_out=1), _node("z")]))
    data = json.loads(cmp.model_dump_json(indent=2))
    assert data["base_run_id"] == BASE_ID
    assert [n["change"] for n in data["nodes"]] == ["changed", "new"]


def test_render_text():
    base = _story(BASE_ID, [
        _node("a", rows_out=10),
        _node("b", columns=[Column(name="id", type="integer"), Column(name="x", type="string")]),
        _node("gone_node"),
        _node("same"),
    ], status="success", started_at="2026-12-01T10:00:00Z", duration_s=2.0)  # fmt: skip
    current = _story(CUR_ID, [
        _node("a", rows_out=1234, status="failed", duration_s=3.0),
        _node("b", columns=[Column(name="id", type="string"), Column(name="y\x1b[31m", type="string")]),
        _node("new_node"),
        _node("same"),
    ], duration_s=4.0)  # fmt: skip
    text = render_text(compare(base, current), CUR_ID)
    lines = text.splitlines()
    assert lines[0] == f"run {CUR_ID} compared with run {BASE_ID} (success, started 2026-12-01T10:00:00Z)"
    assert "run time: 2.00 s -> 4.00 s" in text
    assert "nodes: 2 changed, 1 new, 1 gone, 1 unchanged" in text
    assert "p.a          changed  status success -> failed" in text
    assert "rows 10 -> 1,234 (+1,224)" in text
    assert "time 1.00 s -> 3.00 s" in text
    assert "columns added: y?[31m" in text  # no terminal escape sequence from a column name
    assert "columns removed: x" in text
    assert "retyped: id integer -> string" in text
    assert "p.new_node   new      status success" in text
    assert "p.gone_node  gone     was success" in text
    assert "\x1b" not in text


def test_render_text_of_no_change():
    nodes = [_node("a")]
    text = render_text(compare(_story(BASE_ID, nodes), _story(CUR_ID, nodes)))
    assert text.startswith(f"compared with run {BASE_ID}")
    assert text.rstrip().endswith("no node changed")
