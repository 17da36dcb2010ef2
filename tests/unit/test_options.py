"""Reader/writer options and engine settings: one vocabulary, located errors, settings that take effect."""

from __future__ import annotations

import pytest

from odibi.api import run_project, validate
from odibi.errors import ConfigErrors
from odibi.formats.options import OptionError, normalise, normalise_write


def test_spark_and_pandas_spellings_mean_the_same():
    spark = normalise("csv", {"sep": ";", "inferSchema": False, "dateFormat": "%d/%m/%Y", "nullValue": "NA"})
    pandas = normalise(
        "csv", {"delimiter": ";", "infer_schema": False, "date_format": "%d/%m/%Y", "na_values": "NA"}
    )
    assert spark == pandas
    assert normalise("csv", {"header": 0}) == {"header": True}
    assert normalise("csv", {"header": None}) == {"header": False}


def test_reader_only_option_on_a_write_is_refused():
    with pytest.raises(OptionError, match="applies to reading"):
        normalise_write("csv", {"skiprows": 1})


def test_bad_options_are_located_at_validate(make_project):
    cfg = make_project(
        """
        project: t
        connections:
          d: {type: local, base_path: .}
        pipelines:
          - pipeline: p
            nodes:
              - name: a
                read:
                  connection: d
                  path: a.csv
                  options:
                    delimeter: ";"
                write: {connection: d, path: b.parquet, options: {header: true}}
        """
    )
    with pytest.raises(ConfigErrors) as err:
        validate(cfg)
    lines = sorted(e.location.line for e in err.value.errors)
    assert lines == [12, 13]
    assert "did you mean 'delimiter'" in str(err.value)


def test_duckdb_settings_from_the_config_take_effect(make_project, tmp_path):
    cfg = make_project(
        """
        project: t
        engine_options:
          duckdb: {threads: 1, memory_limit: 1GB}
        connections:
          d: {type: local, base_path: .}
        pipelines:
          - pipeline: p
            nodes:
              - name: a
                transform: {steps: ["SELECT current_setting('threads') AS threads"]}
                write: {connection: d, path: out.csv}
        """
    )
    assert run_project(cfg).ok
    assert (tmp_path / "out.csv").read_text().splitlines() == ["threads", "1"]
