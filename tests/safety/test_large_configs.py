"""Large honest configs load; alias bombs are still refused (issue: a 100,000-node project was refused as
"an alias bomb" because any document expanding to more than 500,000 values was).

The expansion limit is relative to the document's own size: a document may expand to
``EXPANSION_RATIO`` times the values it holds, plus ``EXPANSION_FLOOR``. A document without aliases
expands to exactly what it holds, so it loads whatever its size; a bomb expands far beyond its text.
A 100,000-node project validates too (measured by hand: it takes tens of seconds); these tests use
sizes that run in seconds.
"""

from __future__ import annotations

import textwrap

import pytest
from typer.testing import CliRunner

from odibi import api
from odibi.cli.app import app
from odibi.config import loader
from odibi.config.loader import load_text
from odibi.errors import ConfigError

OLD_LIMIT = 500_000  # the absolute limit of odibi 0.4.0


def big_project(nodes: int, values_per_node: int) -> str:
    """A fan-out project (one read, ``nodes`` - 1 SQL nodes on it) whose SQL nodes also list
    ``values_per_node`` accepted values each: no alias anywhere."""
    values = ", ".join(str(v) for v in range(values_per_node))
    parts = [
        "project: big\n",
        "engine: duckdb\n",
        "connections:\n",
        "  data: {type: local, base_path: ./data}\n",
        "pipelines:\n",
        "  - pipeline: p\n",
        "    nodes:\n",
        "      - name: src\n",
        "        read: {connection: data, path: src.csv, format: csv}\n",
    ]
    for i in range(1, nodes):
        parts.append(
            f"      - name: n{i}\n"
            f"        depends_on: [src]\n"
            f"        transform:\n"
            f"          steps:\n"
            f"            - SELECT id, v + {i} AS v FROM df WHERE v > {i % 7}\n"
            f"        validation: {{accepted_values: {{v: [{values}]}}}}\n"
        )
    return "".join(parts)


def test_an_honest_config_beyond_the_old_absolute_limit_validates(tmp_path):
    text = big_project(2_000, 260)
    assert OLD_LIMIT < 1_999 * 260  # so many accepted values alone: refused as "an alias bomb" before
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "src.csv").write_text("id,v\n1,2\n")
    cfg = tmp_path / "odibi.yaml"
    cfg.write_text(text)
    valid = api.validate(cfg)
    assert sum(len(names) for _, names in valid.selection) == 2_000
    assert len(valid.project.config.pipelines[0].nodes[-1].validation.accepted_values["v"]) == 260


def test_the_cli_validates_a_large_generated_project(tmp_path):
    text = big_project(5_000, 1)
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "src.csv").write_text("id,v\n1,2\n")
    cfg = tmp_path / "odibi.yaml"
    cfg.write_text(text)
    result = CliRunner().invoke(app, ["validate", str(cfg)])
    assert result.exit_code == 0, result.output
    assert "valid (1 pipeline(s), 5000 node(s))" in result.output


def test_the_limit_follows_the_document_size(monkeypatch):
    monkeypatch.setattr(loader, "EXPANSION_FLOOR", 1_000)
    honest = "big: [" + ", ".join(["1"] * 50_000) + "]\n"  # 50x the floor, no alias: fine
    data, _ = load_text(honest, "honest.yaml")
    assert len(data["big"]) == 50_000

    # 300 values written, expanded ~20,000 times: more than 10x + the floor
    anchors = "base: &b [" + ", ".join(["x"] * 100) + "]\n"
    bomb = anchors + "uses:\n" + "  - *b\n" * 200
    with pytest.raises(ConfigError) as err:
        load_text(bomb, "bomb.yaml")
    assert "alias bomb" in err.value.message
    assert err.value.location is not None and err.value.location.file == "bomb.yaml"

    monkeypatch.setattr(loader, "EXPANSION_FLOOR", 100_000)
    data, _ = load_text(bomb, "bomb.yaml")  # 20,000 values: within the default floor
    assert len(data["uses"]) == 200


def test_build_counts_with_the_same_rule(monkeypatch):
    """Were check_expansion skipped, build() stops at the very same value."""
    monkeypatch.setattr(loader, "EXPANSION_FLOOR", 100)
    text = "a: &a [" + ", ".join(["1"] * 20) + "]\n" + "b:\n" + "".join("  - *a\n" for _ in range(60))
    with pytest.raises(ConfigError) as checked:
        load_text(text, "f.yaml")
    monkeypatch.setattr(loader._Builder, "check_expansion", _limit_only)
    with pytest.raises(ConfigError) as built:
        load_text(text, "f.yaml")
    assert built.value.message == checked.value.message
    assert built.value.location == checked.value.location


def _limit_only(self, root) -> None:
    """check_expansion's limit without its check."""
    seen: set[int] = set()
    todo = [root]
    while todo:
        node = todo.pop()
        if id(node) in seen:
            continue
        seen.add(id(node))
        todo.extend(loader._children(node))
    self.written = len(seen)
    self.limit = loader.expansion_limit(self.written)


BOMB = """\
project: bomb
engine: duckdb
connections:
  data: {type: local, base_path: ./data}
logging:
  metadata:
    a: &a ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]
    b: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a, *a]
    c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b, *b]
    d: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c, *c]
    e: &e [*d, *d, *d, *d, *d, *d, *d, *d, *d, *d]
    f: &f [*e, *e, *e, *e, *e, *e, *e, *e, *e, *e]
    g: &g [*f, *f, *f, *f, *f, *f, *f, *f, *f, *f]
    h: &h [*g, *g, *g, *g, *g, *g, *g, *g, *g, *g]
    i: &i [*h, *h, *h, *h, *h, *h, *h, *h, *h, *h]
pipelines:
  - pipeline: p
    nodes:
{nodes}
"""


@pytest.mark.parametrize("nodes", [1, 20_000])
def test_a_bomb_is_refused_even_inside_a_large_config(tmp_path, nodes):
    """A bomb expands far beyond 10x what it holds, however large the honest rest of the file is."""
    body = "".join(
        textwrap.indent(f"- name: n{i}\n  read: {{connection: data, path: x.csv, format: csv}}\n", " " * 6)
        for i in range(nodes)
    )
    cfg = tmp_path / "odibi.yaml"
    cfg.write_text(BOMB.replace("{nodes}", body.rstrip("\n")))
    for command in ("validate", "run"):
        result = CliRunner().invoke(app, [command, str(cfg)])
        assert result.exit_code == 2, result.output
        assert "alias bomb" in result.output
        lines = [int(x.split(":")[1]) for x in result.output.split() if x.startswith(f"{cfg}:")]
        assert lines and all(7 <= line <= 15 for line in lines), result.output  # in the bomb
