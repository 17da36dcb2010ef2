"""Malformed input fails loudly by default, the same way on every engine.

Reproduced on odibi 0.4.0 (each exited 0): a ragged CSV was read as 0 rows under the header ``6,7,8,9``
on DuckDB (3 rows on Spark); an unterminated quote was accepted; an encoding error was cut to
``CSV Error on Line: 2``; a 0-byte file became one column ``column0``; a folder said "No files found".

Each case runs on every engine and checks the node failed, the error names the file and the line, and
nothing was written. ``on_bad_lines: skip`` drops the malformed rows instead, counts them, and gives the
same rows on every engine.
"""

from __future__ import annotations

import logging
import subprocess
import sys
from pathlib import Path

import pytest

from odibi.api import run_project, validate
from odibi.engines import registry
from odibi.engines.base import ReadSpec
from odibi.errors import ConfigError, NodeExecutionError
from odibi.formats.csv_infer import with_inferred_schema

PROJECT = """
project: malformed
connections:
  data: {{type: local, base_path: ./data}}
  out: {{type: local, base_path: ./out}}
pipelines:
  - pipeline: p
    nodes:
      - name: src
        read: {{connection: data, path: "{path}", format: {fmt}, options: {options}}}
        write: {{connection: out, path: src.csv}}
"""

RAGGED = b"a,b,c\n1,2,3\n4,5\n6,7,8,9\n"  # a short row at line 3, a long one at line 4
TOO_MANY = b"a,b,c\n1,2,3\n4,5,6,7\n8,9,10\n"
UNTERMINATED = b'a,b,c\n1,"2,3\n4,5,6\n'
LATIN1 = "a,b\n1,café\n".encode("latin-1")

# (file content, the line named, what the error says besides)
CASES = {
    "ragged": (RAGGED, 3, "malformed CSV"),
    "too_many_fields": (TOO_MANY, 3, "malformed CSV"),
    "unterminated_quote": (UNTERMINATED, 2, "quote"),
    "not_utf8": (LATIN1, 2, "encoding"),
}


def _project(tmp_path: Path, content: bytes | None, *, path="in.csv", fmt="csv", options="{}") -> Path:
    data = tmp_path / "data"
    data.mkdir(parents=True, exist_ok=True)
    if content is not None:
        (data / path).write_bytes(content)
    cfg = tmp_path / "odibi.yaml"
    cfg.write_text(PROJECT.format(path=path, fmt=fmt, options=options), encoding="utf-8")
    return cfg


def _failed(cfg: Path, engine: str, tmp_path: Path) -> str:
    """Run the project; assert its one node failed and wrote nothing; return the error."""
    result = run_project(cfg, engine=engine)
    [node] = result.nodes
    assert node.status == "failed", node
    assert not (tmp_path / "out" / "src.csv").exists()
    assert "\tat " not in node.error and "org.apache" not in node.error  # no Java stack in the message
    assert len(node.error) < 600, node.error
    return node.error


@pytest.mark.parametrize("case", list(CASES))
def test_malformed_csv_fails_naming_file_and_line(case, engine, tmp_path):
    content, line, says = CASES[case]
    cfg = _project(tmp_path, content)
    error = _failed(cfg, engine, tmp_path)
    assert str(tmp_path / "data" / "in.csv") in error
    assert f"line {line}:" in error
    assert says in error


def test_malformed_row_past_the_sniffer_sample_fails_in_the_engine_reader(engine, tmp_path):
    """DuckDB's sniffer reads a sample (20480 rows): a bad row after it is caught by each engine's reader."""
    rows = b"".join(b"%d,%d\n" % (i, i) for i in range(30000))
    cfg = _project(tmp_path, b"a,b\n" + rows + b"1,2,3\n" + b"4,5\n")
    error = _failed(cfg, engine, tmp_path)
    assert str(tmp_path / "data" / "in.csv") in error
    assert "line 30002:" in error


def test_short_rows_past_the_sample_fail_in_the_engine_reader(engine, tmp_path):
    """pandas pads a short row with NULLs without a word; odibi refuses it on every engine."""
    rows = b"".join(b"%d,%d\n" % (i, i) for i in range(30000))
    cfg = _project(tmp_path, b"a,b\n" + rows + b"7\n")
    error = _failed(cfg, engine, tmp_path)
    assert "line 30002:" in error and "in.csv" in error


def test_bad_line_hint_names_the_option(engine, tmp_path):
    cfg = _project(tmp_path, RAGGED)
    assert "on_bad_lines: skip" in _failed(cfg, engine, tmp_path)


def test_encoding_error_keeps_the_readers_advice(engine, tmp_path):
    cfg = _project(tmp_path, LATIN1)
    error = _failed(cfg, engine, tmp_path)
    assert "not utf-8 encoded" in error and "encoding=" in error


def test_the_right_encoding_reads_the_file(engine, tmp_path):
    cfg = _project(tmp_path, LATIN1, options="{encoding: latin-1}")
    result = run_project(cfg, engine=engine)
    assert result.ok, [n.error for n in result.nodes]
    assert (tmp_path / "out" / "src.csv").read_text(encoding="utf-8").splitlines() == ["a,b", "1,café"]


@pytest.mark.parametrize("fmt", ["csv", "json"])
def test_an_empty_file_is_its_own_error(fmt, engine, tmp_path):
    cfg = _project(tmp_path, b"", path=f"in.{fmt}", fmt=fmt)
    error = _failed(cfg, engine, tmp_path)
    assert f"file is empty: {tmp_path / 'data' / f'in.{fmt}'}" in error


def test_a_header_only_csv_is_valid(engine, tmp_path):
    cfg = _project(tmp_path, b"a,b,c\n")
    result = run_project(cfg, engine=engine)
    [node] = result.nodes
    assert node.status == "success", node.error
    assert list(node.columns) == ["a", "b", "c"]
    assert (tmp_path / "out" / "src.csv").read_text().splitlines() == ["a,b,c"]


@pytest.mark.parametrize("fmt", ["csv", "json"])
def test_a_folder_where_a_file_is_expected(fmt, engine, tmp_path):
    (tmp_path / "data" / "folder").mkdir(parents=True)
    (tmp_path / "data" / "folder" / f"part.{fmt}").write_text(
        "a\n1\n" if fmt == "csv" else '{"a": 1}\n', encoding="utf-8"
    )
    cfg = _project(tmp_path, None, path="folder", fmt=fmt)
    error = _failed(cfg, engine, tmp_path)
    folder = tmp_path / "data" / "folder"
    assert f"{folder} is a folder; give a file or a glob such as {folder}/*.{fmt}" in error


def test_a_glob_of_the_folder_reads_it(engine, tmp_path):
    (tmp_path / "data" / "folder").mkdir(parents=True)
    (tmp_path / "data" / "folder" / "part.csv").write_text("a\n1\n", encoding="utf-8")
    cfg = _project(tmp_path, None, path="folder/*.csv")
    result = run_project(cfg, engine=engine)
    assert result.ok, [n.error for n in result.nodes]


# -- JSON ------------------------------------------------------------------------------------------


def test_a_malformed_json_line_fails_naming_file_and_line(engine, tmp_path):
    cfg = _project(tmp_path, b'{"a": 1}\n{"a": 2,\n{"a": 3}\n', path="in.json", fmt="json")
    error = _failed(cfg, engine, tmp_path)
    assert f"malformed JSON in {tmp_path / 'data' / 'in.json'}, line 2:" in error


def test_a_json_array_reads_on_every_engine(engine, tmp_path):
    cfg = _project(tmp_path, b'[\n  {"a": 1},\n  {"a": 2}\n]\n', path="in.json", fmt="json")
    result = run_project(cfg, engine=engine)
    assert result.ok, [n.error for n in result.nodes]
    assert (tmp_path / "out" / "src.csv").read_text().splitlines() == ["a", "1", "2"]


# -- on_bad_lines: skip ----------------------------------------------------------------------------

SKIPPABLE = b"a,b,c\n1,2,3\n4,5\n6,7,8,9\n10,11,12\n\n13,14,15\n"


def test_skip_gives_the_same_rows_on_every_engine(engine, tmp_path):
    cfg = _project(tmp_path, SKIPPABLE, options="{on_bad_lines: skip}")
    result = run_project(cfg, engine=engine)
    assert result.ok, [n.error for n in result.nodes]
    assert (tmp_path / "out" / "src.csv").read_text().splitlines() == [
        "a,b,c",
        "1,2,3",
        "10,11,12",
        "13,14,15",
    ]
    assert result.nodes[0].columns == {"a": "int", "b": "int", "c": "int"}


def test_skip_past_the_sniffer_sample_gives_the_same_rows(engine, tmp_path):
    rows = b"".join(b"%d,%d\n" % (i, i) for i in range(30000))
    cfg = _project(tmp_path, b"a,b\n" + rows + b"7\n8,8,8\n9,9\n", options="{on_bad_lines: skip}")
    result = run_project(cfg, engine=engine)
    assert result.ok, [n.error for n in result.nodes]
    lines = (tmp_path / "out" / "src.csv").read_text().splitlines()
    assert len(lines) == 30002 and lines[-1] == "9,9"


def test_skipped_rows_are_counted_and_logged(engine, tmp_path, caplog):
    src = tmp_path / "in.csv"
    src.write_bytes(SKIPPABLE)
    spec = with_inferred_schema(ReadSpec(str(src), "csv", {"on_bad_lines": "skip"}))
    eng = registry.create(engine)
    try:
        with caplog.at_level(logging.WARNING, logger="odibi.read"):
            eng.register_read("r", spec)
        assert eng.bad_lines("r") == 2
        assert eng.count("r") == 3
    finally:
        eng.close()
    assert f"{src}: skipped 2 malformed row(s)" in caplog.text


def test_a_clean_read_counts_no_skipped_rows(engine, tmp_path):
    src = tmp_path / "in.csv"
    src.write_bytes(b"a,b\n1,2\n")
    eng = registry.create(engine)
    try:
        eng.register_read("r", with_inferred_schema(ReadSpec(str(src), "csv", {"on_bad_lines": "skip"})))
        assert eng.bad_lines("r") == 0
        assert eng.bad_lines("never_read") == 0
    finally:
        eng.close()


@pytest.mark.parametrize("content", [UNTERMINATED, LATIN1], ids=["unterminated_quote", "not_utf8"])
def test_skip_does_not_skip_what_has_no_row_end_or_no_encoding(content, engine, tmp_path):
    """An unterminated quote swallows the rest of the file, a wrong encoding every row: still errors."""
    cfg = _project(tmp_path, content, options="{on_bad_lines: skip}")
    error = _failed(cfg, engine, tmp_path)
    assert "line 2:" in error and "in.csv" in error


def test_the_engine_reader_refuses_what_the_sniffer_never_saw(engine, tmp_path):
    """With the columns decided (as the runner hands them over), each engine's own reader still refuses
    a malformed row: the sniffer is not the only guard."""
    src = tmp_path / "in.csv"
    src.write_bytes(RAGGED)
    spec = ReadSpec(str(src), "csv", {}, schema={"a": "int", "b": "int", "c": "int"})
    eng = registry.create(engine)
    try:
        with pytest.raises(NodeExecutionError) as info:
            eng.register_read("r", spec)
    finally:
        eng.close()
    assert f"{src}, line 3:" in str(info.value)


def test_a_wrong_on_bad_lines_value_is_a_config_error(make_project):
    cfg = make_project(
        """
        project: t
        connections:
          d: {type: local, base_path: .}
        pipelines:
          - pipeline: p
            nodes:
              - name: a
                read: {connection: d, path: a.csv, options: {on_bad_lines: warn}}
                write: {connection: d, path: b.csv}
        """
    )
    with pytest.raises(ConfigError, match="on_bad_lines") as info:
        validate(cfg)
    assert "error, skip" in str(info.value)


def test_the_cli_exits_1_and_prints_file_and_line(tmp_path):
    cfg = _project(tmp_path, RAGGED)
    done = subprocess.run(
        [sys.executable, "-m", "odibi", "run", str(cfg)], cwd=tmp_path, capture_output=True, text=True
    )
    assert done.returncode == 1, done.stdout + done.stderr
    output = done.stdout + done.stderr
    assert f"{tmp_path / 'data' / 'in.csv'}, line 3" in output.replace("\n", "")
    assert "Traceback" not in output
    assert not (tmp_path / "out" / "src.csv").exists()
