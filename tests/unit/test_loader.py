"""Safe YAML loading: positions, duplicate keys, tags, bombs, nesting, ${VAR} interpolation."""

from __future__ import annotations

import time

import pytest

from odibi.config.loader import load_text
from odibi.errors import ConfigError


def test_positions_of_keys_and_values_are_recorded():
    data, smap = load_text("a: 1\nb:\n  c: [x, y]\n", "f.yaml")
    assert data == {"a": 1, "b": {"c": ["x", "y"]}}
    assert smap.locate(("b", "c", 1)).line == 3
    assert smap.locate(("b", "c", 1)).col == 10
    assert smap.locate(("b", "c"), key=True).col == 3


def test_duplicate_key_is_located_at_the_second_occurrence():
    with pytest.raises(ConfigError) as err:
        load_text("a: 1\nb: 2\na: 3\n", "f.yaml")
    assert err.value.location.line == 3
    assert "duplicate key 'a'" in err.value.message
    assert "line 1" in err.value.message


@pytest.mark.parametrize(
    "text",
    [
        "a: !!python/object/apply:os.system ['echo hi']\n",
        "a: !!python/name:os.system\n",
        "a: !custom 3\n",
        "a: !!set {x, y}\n",
    ],
)
def test_non_plain_tags_are_rejected(text):
    with pytest.raises(ConfigError) as err:
        load_text(text, "f.yaml")
    assert "not allowed" in err.value.message
    assert err.value.location.line == 1


def test_alias_bomb_is_stopped_quickly():
    lines = ['a0: &a0 ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    for i in range(1, 10):
        refs = ",".join([f"*a{i - 1}"] * 9)
        lines.append(f"a{i}: &a{i} [{refs}]")
    started = time.perf_counter()
    with pytest.raises(ConfigError) as err:
        load_text("\n".join(lines) + "\n", "bomb.yaml")
    assert time.perf_counter() - started < 5
    assert "alias bomb" in err.value.message


def test_deep_nesting_is_a_config_error_not_a_crash():
    depth = 10_000
    with pytest.raises(ConfigError) as err:
        load_text("a: " + "[" * depth + "]" * depth + "\n", "deep.yaml")
    assert "nested" in err.value.message


def test_syntax_error_has_line_and_column():
    with pytest.raises(ConfigError) as err:
        load_text("a: 1\nb: [1, 2\nc: 3\n", "f.yaml")
    assert err.value.location.line >= 2
    assert "YAML syntax error" in err.value.message


def test_env_interpolation_with_default_and_escape():
    env = {"HOST": "db.example"}
    data, _ = load_text("a: ${HOST}:5432\nb: ${PORT:-5432}\nc: $${HOST}\n", "f.yaml", env=env)
    assert data == {"a": "db.example:5432", "b": "5432", "c": "${HOST}"}


def test_missing_env_var_is_located():
    with pytest.raises(ConfigError) as err:
        load_text("a: 1\nsecret: ${NOT_SET_ANYWHERE}\n", "f.yaml", env={})
    assert err.value.location.line == 2
    assert "NOT_SET_ANYWHERE" in err.value.message


def test_dates_stay_strings():
    data, _ = load_text("d: 2024-01-31\n", "f.yaml")
    assert data == {"d": "2024-01-31"}
