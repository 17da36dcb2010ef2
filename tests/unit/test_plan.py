"""The DAG: dependency checks, cycles with their path, layers, selection, no recursion limit."""

from __future__ import annotations

import pytest

from odibi.api import validate
from odibi.config.project import load_project_text
from odibi.errors import ConfigError, ConfigErrors, UsageError
from odibi.plan.graph import select


def _project(nodes_yaml: str) -> str:
    return "project: t\npipelines:\n  - pipeline: p\n    nodes:\n" + nodes_yaml


def test_layers_follow_dependencies():
    text = _project(
        "      - {name: a, transform: {steps: ['SELECT 1 AS x']}}\n"
        "      - {name: b, depends_on: [a]}\n"
        "      - {name: c, depends_on: [a]}\n"
        "      - {name: d, depends_on: [b, c]}\n"
    )
    valid = validate(load_project_text(text, "t.yaml"))
    assert valid.plan.pipelines[0].layers == [["a"], ["b", "c"], ["d"]]


def test_cycle_is_reported_with_its_path():
    text = _project(
        "      - {name: a, depends_on: [c]}\n"
        "      - {name: b, depends_on: [a]}\n"
        "      - {name: c, depends_on: [b]}\n"
    )
    with pytest.raises(ConfigError) as err:
        validate(load_project_text(text, "t.yaml"))
    msg = str(err.value)
    assert "cycle" in msg
    path = msg.split("cycle in pipeline 'p': ")[1].split(" (")[0].split("\n")[0]
    hops = path.split(" -> ")
    assert hops[0] == hops[-1] and set(hops) == {"a", "b", "c"}


def test_unknown_dependency_suggests_the_closest_name():
    text = _project("      - {name: load_sales, transform: {steps: ['SELECT 1 AS x']}}\n"
                    "      - {name: b, depends_on: [load_sale]}\n")  # fmt: skip
    with pytest.raises(ConfigError) as err:
        validate(load_project_text(text, "t.yaml"))
    assert "did you mean 'load_sales'" in str(err.value)
    assert err.value.location.line == 6


def test_all_problems_are_collected():
    text = _project("      - {name: a, depends_on: [nope]}\n      - {name: a, depends_on: [zilch]}\n")
    with pytest.raises(ConfigErrors) as err:
        validate(load_project_text(text, "t.yaml"))
    assert len(err.value.errors) == 2


def test_select_node_brings_its_upstream_only():
    text = _project(
        "      - {name: a, transform: {steps: ['SELECT 1 AS x']}}\n"
        "      - {name: b, depends_on: [a]}\n"
        "      - {name: c, depends_on: [b]}\n"
        "      - {name: other, transform: {steps: ['SELECT 2 AS y']}}\n"
    )
    valid = validate(load_project_text(text, "t.yaml"))
    [(_pplan, names)] = select(valid.plan, None, "c")
    assert names == ["a", "b", "c"]
    with pytest.raises(UsageError, match="did you mean 'other'"):
        select(valid.plan, None, "othr")
    with pytest.raises(UsageError, match="unknown pipeline"):
        select(valid.plan, "nope", None)


def test_a_10000_level_chain_plans_without_recursion():
    lines = ["      - {name: n0, transform: {steps: ['SELECT 1 AS x']}}\n"]
    lines += [f"      - {{name: n{i}, depends_on: [n{i - 1}]}}\n" for i in range(1, 10_000)]
    valid = validate(load_project_text(_project("".join(lines)), "t.yaml"))
    assert len(valid.plan.pipelines[0].layers) == 10_000
