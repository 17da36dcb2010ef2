"""The HTML renderer on the hand-made story: hostile text stays text, the page asks for nothing outside
itself, every node has its DAG box and its panel, and a 60-node story stays whole."""

from __future__ import annotations

import re
from html.parser import HTMLParser

import markupsafe
import pytest

from odibi.story import render_html
from odibi.story.model import (
    CheckOutcome,
    Edge,
    FailureInfo,
    NodeDelta,
    NodeStory,
    Sample,
    Story,
    Totals,
    WriteInfo,
)
from odibi.story.render_html import EXTENSION, cell, render, slug
from tests.story.factory import HOSTILE, sample_story

CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:"


class _Tags(HTMLParser):
    """Every start tag with its attributes, and the text inside <script> elements."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.scripts: list[str] = []
        self._in_script = False

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))
        if tag == "script":
            self._in_script = True
            self.scripts.append("")

    def handle_startendtag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))

    def handle_endtag(self, tag):
        if tag == "script":
            self._in_script = False

    def handle_data(self, data):
        if self._in_script:
            self.scripts[-1] += data


def _parse(page: str) -> _Tags:
    p = _Tags()
    p.feed(page)
    p.close()
    return p


def _with(tags: _Tags, name: str, attr: str) -> list[dict[str, str | None]]:
    return [a for t, a in tags.tags if t == name and attr in a]


@pytest.fixture(scope="module")
def page() -> str:
    return render(sample_story())


@pytest.fixture(scope="module")
def tags(page) -> _Tags:
    return _parse(page)


def test_extension_and_document_head(page, tags):
    assert EXTENSION == "html"
    assert page.startswith("<!DOCTYPE html>")
    assert '<meta charset="utf-8">' in page
    csp = [a for t, a in tags.tags if t == "meta" and a.get("http-equiv") == "Content-Security-Policy"]
    assert [a["content"] for a in csp] == [CSP]
    assert page.count("<style>") == 1


@pytest.mark.parametrize("text", HOSTILE)
def test_hostile_strings_appear_only_escaped(page, text):
    assert text not in page
    assert str(markupsafe.escape(text)) in page  # Jinja's escaping: < > & " ' as entities


def test_no_raw_hostile_markup(page):
    assert "<script>alert(1)</script>" not in page
    assert "<img src=x onerror" not in page
    assert "<img" not in page
    assert "<b>sales</b>" not in page  # the project name is text too
    assert "Shop &lt;b&gt;sales&lt;/b&gt;" in page


def test_no_handlers_scripts_or_external_references(tags):
    assert tags.tags, "nothing parsed"
    handlers = [(t, name) for t, attrs in tags.tags for name in attrs if name.lower().startswith("on")]
    assert handlers == []
    assert [t for t, _ in tags.tags if t == "script"] == []  # the template has no script at all
    assert [
        t for t, _ in tags.tags if t in ("img", "iframe", "object", "embed", "link", "base", "form")
    ] == []
    external = re.compile(r"^\s*(https?:|//|javascript:|data:text)", re.IGNORECASE)
    for t, attrs in tags.tags:
        for name in ("src", "href", "xlink:href", "action", "srcset", "poster"):
            value = attrs.get(name)
            assert value is None or not external.match(value), (t, name, value)
    for t, attrs in tags.tags:  # every link stays on the page
        if "href" in attrs:
            assert (attrs["href"] or "").startswith("#"), (t, attrs)


def test_every_node_has_a_dag_box_and_a_panel(tags):
    story = sample_story()
    keys = [n.key for n in story.nodes]
    groups = [a for t, a in tags.tags if t == "g" and "dag-node" in (a.get("class") or "").split()]
    assert sorted(a["data-node"] for a in groups) == sorted(keys)
    panels = [a for t, a in tags.tags if t == "section" and "node-panel" in (a.get("class") or "").split()]
    assert sorted(a["data-node"] for a in panels) == sorted(keys)
    ids = {a["data-node"]: a["id"] for a in panels}
    for n in story.nodes:
        assert ids[n.key] == slug(n.key)
        assert f"status-{n.status}" in next(a["class"] for a in groups if a["data-node"] == n.key)
    # each DAG box links to its node's panel; all ids on the page are distinct
    links = [a["href"] for a in _with(tags, "a", "href")]
    for n in story.nodes:
        assert f"#{slug(n.key)}" in links
    all_ids = [a["id"] for _, a in tags.tags if "id" in a]
    assert len(all_ids) == len(set(all_ids))
    assert [a for t, a in tags.tags if t == "svg" and a.get("id") == "dag"]


def test_failed_panel_comes_first_and_carries_its_failure(page, tags):
    panels = [
        a["data-node"] for t, a in tags.tags if t == "section" and "node-panel" in (a.get("class") or "")
    ]
    assert panels[0] == "bronze.clean_sales"
    failed = page[page.index(f'id="{slug("bronze.clean_sales")}"') :]
    failed = failed[: failed.index("</section>")]
    for text in (
        "step 1",
        "odibi.yaml:14:13",
        "Binder Error: column &#34;amount&#34; not found",
        "columns: id, name",
    ):
        assert text in failed, text
    assert "duckdb.BinderException" in failed
    assert "connection reset" in failed  # the earlier attempt
    assert "SELECT id, UPPER(name) AS name FROM raw_sales WHERE amount &gt; 0" in failed
    skipped = page[page.index(f'id="{slug("bronze.gold_sales")}"') :]
    assert "upstream node &#39;clean_sales&#39; failed" in skipped[: skipped.index("</section>")]


def test_summary_and_comparison(page, tags):
    assert [a for t, a in tags.tags if t == "section" and a.get("id") == "comparison"]
    comparison = page[page.index('id="comparison"') :]
    comparison = comparison[: comparison.index("</section>")]
    assert "20261201T100000Z-00000000" in comparison
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in comparison  # the added column
    assert "+1 (+33%)" in comparison
    for text in ("20261202T100000Z-abcd1234", "duckdb", "0123456789abcdef", "odibi.yaml", "3.11.7"):
        assert text in page
    assert 'class="badge big status-failed"' in page
    assert '<span class="null">null</span>' in page  # the sample's None


def test_long_values_and_numbers():
    assert cell(None).text is None
    assert cell(True).text == "true"
    assert cell({"a": 1}).text == '{"a": 1}'
    long = "x" * 500
    c = cell(long)
    assert len(c.text) == 200 and c.text.endswith("…") and c.title == long
    story = sample_story()
    story.nodes[0].sample.rows.append([4, "<" * 300])
    story.nodes[0].rows_out = 1234567
    page = render(story)
    assert f'title="{"&lt;" * 300}"' in page
    assert "1,234,567" in page


def test_slugs_are_safe_and_distinct():
    keys = [*HOSTILE, "a.b", "a-b", "A.B", "a b", "", "ü.ß", "p." + "x" * 300]
    ids = [slug(k) for k in keys]
    assert len(set(ids)) == len(ids)
    assert all(re.fullmatch(r"node-[a-z0-9-]+", i) for i in ids)
    assert all(len(i) < 80 for i in ids)


def _big_story(n: int = 60) -> Story:
    """Two pipelines: 14 reads in one wide layer, then chains and joins, some lazy, a failure, skips."""
    nodes: list[NodeStory] = []
    edges: list[Edge] = []
    reads = 14
    for i in range(reads):
        nodes.append(
            NodeStory(
                pipeline="bronze",
                name=f"read_source_table_number_{i:02d}",
                status="success",
                rows_out=1000 * i,
                duration_s=0.5,
                attempts=1,
            )
        )
    prev = [f"read_source_table_number_{i:02d}" for i in range(reads)]
    i = reads
    while len(nodes) < n:
        pipeline = "bronze" if len(nodes) < 30 else "silver"
        if pipeline == "silver" and not any(x.pipeline == "silver" for x in nodes):
            prev = []
        name = f"t{i:02d}_" + ("very_long_transformation_name_" * 2 if i % 7 == 0 else "step")
        inputs = prev[-2:] if prev else []
        status = (
            "failed" if i == 20 else ("skipped" if i in (22, 23) else ("not_run" if i > 55 else "success"))
        )
        nodes.append(
            NodeStory(
                pipeline=pipeline,
                name=name,
                status=status,
                inputs=inputs,
                lazy=i % 5 == 0,
                rows_out=i,
                failure=FailureInfo(kind="sql", stage="transform", message="boom")
                if status == "failed"
                else None,
            )
        )
        edges += [Edge(pipeline=pipeline, source=s, target=name) for s in inputs]
        prev.append(name)
        i += 1
    return Story(
        run_id="big",
        project="big",
        pipelines=["bronze", "silver"],
        engine="duckdb",
        versions={},
        config_hash="h",
        started_at="s",
        ended_at="e",
        duration_s=1.0,
        status="failed",
        verbosity="normal",
        totals=Totals(nodes=len(nodes)),
        nodes=nodes,
        edges=edges,
    )


def test_sixty_nodes():
    story = _big_story(60)
    page = render(story)
    tags = _parse(page)
    groups = [a for t, a in tags.tags if t == "g" and "dag-node" in (a.get("class") or "").split()]
    panels = [a for t, a in tags.tags if t == "section" and "node-panel" in (a.get("class") or "").split()]
    assert len(groups) == 60 and len(panels) == 60
    assert (
        {a["data-node"] for a in groups} == {a["data-node"] for a in panels} == {n.key for n in story.nodes}
    )
    assert len({a["id"] for a in panels}) == 60
    # long names are truncated in the boxes, the full name is in the box's <title>
    long = next(n for n in story.nodes if "very_long" in n.name)
    assert f"<title>{long.key} (" in page
    assert f">{long.name}</text>" not in page
    # the picture's width stays bounded: wide layers wrap onto more rows
    layout = render_html.dag_layout(story)
    assert layout.width <= 2 * render_html.MARGIN + render_html.MAX_PER_ROW * (
        render_html.NODE_W + render_html.GAP_X
    )
    svg = next(a for t, a in tags.tags if t == "svg")
    assert svg["viewbox" if "viewbox" in svg else "viewBox"] == f"0 0 {layout.width} {layout.height}"
    # no two boxes overlap
    boxes = [(d.x, d.y) for d in layout.nodes]
    assert len(set(boxes)) == len(boxes)
    # a node sits below every input of its pipeline
    at = {d.key: d for d in layout.nodes}
    for n in story.nodes:
        for i in n.inputs:
            assert at[f"{n.pipeline}.{i}"].y < at[n.key].y


def test_layers_are_longest_paths_and_cycles_do_not_hang():
    story = sample_story()
    layout = render_html.dag_layout(story)
    assert [d.layer for d in layout.nodes] == [0, 1, 2]
    # a diamond with a shortcut: d is two below a even though a feeds it directly
    mk = lambda name, inputs: NodeStory(pipeline="p", name=name, status="success", inputs=inputs)  # noqa: E731
    story = story.model_copy(
        update={
            "nodes": [
                mk("a", []),
                mk("b", ["a"]),
                mk("c", ["b"]),
                mk("d", ["a", "c"]),
                mk("x", ["y"]),
                mk("y", ["x"]),
            ],
            "edges": [],
            "pipelines": ["p"],
            "comparison": None,
        }
    )
    layers = {d.key: d.layer for d in render_html.dag_layout(story).nodes}
    assert layers["p.a"] == 0 and layers["p.c"] == 2 and layers["p.d"] == 3
    assert {"p.x", "p.y"} <= set(layers)
    assert render(story).count('class="node-panel') == 6


def _every_field_story() -> Story:
    """Every optional part of the record set: the template's rarely used branches render."""
    story = sample_story()
    raw, clean, gold = story.nodes
    raw = raw.model_copy(
        update={
            "sample": Sample(
                columns=["id", "email", "meta"],
                rows=[[1, "***", {"k": [1, 2]}], [2.5, "***", True]],
                masked=["email"],
                source="output",
            ),
            "steps": ["SELECT * FROM raw", "filter: id > 0"],
            "notes": ["read back from the output", HOSTILE[0]],
            "quarantined": 3,
            "checks": [
                CheckOutcome(check="unique(id)", status="quarantined", failing_rows=3, message="3 dupes")
            ],
            "writes": [
                WriteInfo(target="out:t", connection="out", format="delta", mode="append", rows=4, version=7),
                WriteInfo(target="out:t_q", format="delta", mode="append", rows=3, role="quarantine"),
            ],
            "action": "recomputed",
            "lazy": True,
        }
    )
    failure = clean.failure.model_copy(
        update={"traceback": "Traceback (most recent call last):\n  " + HOSTILE[0], "retry_reason": "io"}
    )
    clean = clean.model_copy(update={"failure": failure})
    not_run = NodeStory(pipeline="other", name="later", status="not_run", reason="the run stopped first")
    comparison = story.comparison.model_copy(
        update={
            "nodes": [
                *story.comparison.nodes,
                NodeDelta(pipeline="bronze", name="gone_node", change="gone", status_before="success"),
                NodeDelta(pipeline="other", name="later", change="new", status_after="not_run"),
            ],
            "duration_before_s": 0.5,
            "duration_after_s": 0.3,
            "base_started_at": "2026-12-01T10:00:00Z",
        }
    )
    return story.model_copy(
        update={
            "nodes": [raw, clean, gold, not_run],
            "error": "interrupted: " + HOSTILE[0],
            "resumed_from": "20261201T090000Z-ffff",
            "description": "A description with " + HOSTILE[1],
            "comparison": comparison,
        }
    )


def test_every_field_renders_and_stays_text():
    story = _every_field_story()
    page = render(story)
    tags = _parse(page)
    for raw in HOSTILE[:2]:
        assert raw not in page
    assert [t for t, _ in tags.tags if t in ("script", "img")] == []
    assert not [n for _, a in tags.tags for n in a if n.lower().startswith("on")]
    assert "masked</span>" in page and "read back from the output" in page
    assert '{"k": [1, 2]}'.replace('"', "&#34;") in page and ">true<" in page
    assert "Traceback (most recent call last):" in page and "20261201T090000Z-ffff" in page
    assert "the run stopped first" in page and "interrupted: &lt;script&gt;" in page
    assert "quarantine</span>" in page and ">7<" in page  # the quarantine write, the Delta version
    panels = [
        a["data-node"] for t, a in tags.tags if t == "section" and "node-panel" in (a.get("class") or "")
    ]
    assert sorted(panels) == sorted(n.key for n in story.nodes)
    groups = [a for t, a in tags.tags if t == "g" and "dag-node" in (a.get("class") or "").split()]
    assert len(groups) == 4  # "other" is not among story.pipelines and still drawn
    comparison = page[page.index('id="comparison"') :]
    assert "gone_node" in comparison and "\N{MINUS SIGN}200 ms" in comparison


def test_empty_story_renders():
    story = sample_story().model_copy(update={"nodes": [], "edges": [], "comparison": None})
    page = render(story)
    assert '<svg id="dag"' in page and 'class="node-panel' not in page
