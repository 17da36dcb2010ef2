"""Data-quality config mistakes are located at validate time."""

from __future__ import annotations

import pytest

from odibi.api import validate
from odibi.errors import ConfigError, ConfigErrors

BASE = """\
project: t
connections:
  d: {type: local, base_path: .}
pipelines:
  - pipeline: p
    nodes:
      - name: n
        read: {connection: d, path: a.csv}
        validation:
"""


@pytest.mark.parametrize(
    ("block", "line", "fragment"),
    [
        ("          on_fail: quarantine\n", 10, "needs a 'quarantine' target"),
        (
            "          on_fail: quarantine\n          quarantine: {connection: dd, path: q.csv}\n",
            11,
            "unknown connection 'dd'",
        ),
        ('          custom_sql: {bad: "amount >"}\n', 10, "custom_sql 'bad': SQL syntax error"),
        ('          regex_match: {email: "([a-z]"}\n', 10, "bad regular expression"),
        ("          range: {amount: {}}\n", 10, "needs 'min', 'max' or both"),
        ("          on_fail: explode\n", 10, "on_fail"),
        ("          no_nulls: [a]\n          max_failed: 3\n", 10, "need on_fail: warn or quarantine"),
        (
            "          no_nulls: [email]\n          on_fail: warn\n"
            '          thresholds: {"no_nulls(emial)": {max_failed: 1}}\n',
            12,
            "'no_nulls(emial)' is not a row-level check of this node (did you mean 'no_nulls(email)'?)",
        ),
        (
            "          no_nulls: [a]\n          on_fail: warn\n          thresholds: {no_nulls: {}}\n",
            12,
            "needs 'max_failed', 'max_failed_pct' or both",
        ),
        ("          no_nulls: [a]\n          on_fail: warn\n          max_failed_pct: 120\n", 12, "100"),
    ],
)
def test_quality_config_errors_are_located(tmp_path, block, line, fragment):
    cfg = tmp_path / "odibi.yaml"
    cfg.write_text(BASE + block)
    with pytest.raises(ConfigError) as err:
        validate(cfg)
    errors = err.value.errors if isinstance(err.value, ConfigErrors) else [err.value]
    assert any(e.location.line == line and fragment in str(e) for e in errors), [str(e) for e in errors]
