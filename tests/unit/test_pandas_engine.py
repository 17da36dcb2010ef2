"""The pandas engine's option translation and type inference (the parts that do not need a run)."""

from __future__ import annotations

import pytest

pd = pytest.importorskip("pandas")

from odibi.engines.base import ReadSpec  # noqa: E402
from odibi.engines.pandas import (  # noqa: E402
    PandasEngine,
    csv_read_params,
    csv_write_params,
    infer_column,
)
from odibi.errors import NodeExecutionError  # noqa: E402


def test_csv_read_options_translate_to_pandas():
    kwargs, typing = csv_read_params(
        {"header": False, "sep": ";", "quotechar": "'", "escape": "\\", "na_values": "NA", "encoding": "latin-1",
         "skiprows": 2, "dtype": {"a": "str"}, "comment": "#", "compression": "auto", "dateFormat": "%d/%m/%Y"}
    )  # fmt: skip
    assert kwargs["header"] is None and kwargs["sep"] == ";" and kwargs["quotechar"] == "'"
    assert kwargs["escapechar"] == "\\" and kwargs["na_values"] == ["NA"] and kwargs["encoding"] == "latin-1"
    assert kwargs["skiprows"] == 2 and kwargs["comment"] == "#" and kwargs["compression"] == "infer"
    assert typing == {"types": {"a": "str"}, "date_format": "%d/%m/%Y"}


def test_csv_write_options_translate_to_pandas():
    kwargs, formats = csv_write_params(
        {"sep": "|", "nullValue": "NULL", "header": 0, "timestampFormat": "%Y"}
    )
    assert kwargs == {"index": False, "header": True, "sep": "|", "na_rep": "NULL"}
    assert formats == {"timestamp_format": "%Y"}


def test_unknown_and_unsupported_options_name_the_option(tmp_path):
    engine = PandasEngine()
    try:
        with pytest.raises(NodeExecutionError, match="sepp"):
            engine.read(ReadSpec(str(tmp_path / "x.csv"), "csv", {"sepp": ";"}))
        with pytest.raises(NodeExecutionError, match="'lines'"):
            csv_write_params({"lines": True})
    finally:
        engine.close()


@pytest.mark.parametrize(
    ("values", "kind"),
    [
        (["1", None, "3"], "Int64"),
        (["007", "8"], "str"),
        (["007.5", "1"], "str"),
        (["t", "F"], "boolean"),
        (["1.5", "2"], "float64"),
        (["99999999999999999999", "1"], "float64"),
        (["2024-01-02", None], "object"),
        (["2024-01-02 03:04", "2024-01-02 03:04:05.5"], "datetime64[us]"),
        (["2024-01-02", "2024-01-02 03:04:05"], "str"),
    ],
)
def test_csv_inference_follows_duckdb(values, kind):
    col = pd.Series(values, dtype="str")
    assert str(infer_column(col, {}).dtype).lower() == kind.lower()


def test_json_strings_need_one_timestamp_format():
    mixed = pd.Series(["2024-01-02 03:04:05", "2024-01-02 03:04:05.25"], dtype="str")
    same = pd.Series(["2024-01-02 03:04:05.5", "2024-01-02 03:04:05.25"], dtype="str")
    assert str(infer_column(mixed, {}, numbers=False).dtype) == "str"
    assert str(infer_column(same, {}, numbers=False).dtype) == "datetime64[us]"
    assert str(infer_column(pd.Series(["1", "2"], dtype="str"), {}, numbers=False).dtype) == "str"


def test_hugeint_sums_become_int64_and_dates_stay_dates():
    engine = PandasEngine()
    try:
        engine.define(
            "t", "SELECT sum(x) AS s, DATE '2024-01-02' AS d FROM (SELECT 1 AS x)", materialize=True
        )
        assert engine.columns("t") == {"s": "int", "d": "date"}
        frame = engine.frame("t")
        assert str(frame.s.dtype) == "int64" and frame.d.dtype == object
        engine.define(
            "u", "SELECT CASE WHEN x > 1 THEN x END AS n FROM (VALUES (1), (2)) v(x)", materialize=False
        )
        assert str(engine.frame("u").n.dtype) == "Int32" and engine.columns("u") == {"n": "int"}
    finally:
        engine.close()
