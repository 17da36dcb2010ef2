"""Fuzzing the config front end: whatever the file holds, `validate` ends in a located ConfigError.

Malformed configs are made from a few realistic valid ones by mutation (truncation, wrong types, unknown
keys, broken references, random bytes and control characters, indentation and line edits, broken SQL)
and from random YAML. The property: :func:`odibi.api.validate` either succeeds or raises a
:class:`~odibi.errors.ConfigError` (or ``ConfigErrors``) whose every error carries a line inside the file
(1 ≤ line ≤ lines + 1). Any other exception type is a bug.

Documents generated from ``schemas/odibi.schema.json`` (hypothesis-jsonschema) must load: editors and
odibi agree on what a valid file is. Resource limits: YAML alias bombs and 10,000-deep nesting are
rejected quickly; 10,000-deep SQL gives a located error (checked in a subprocess, so a crash of the
interpreter is a test failure rather than the end of pytest).

Examples are derandomized so CI is deterministic; the whole module makes > 10,000 examples.
"""

from __future__ import annotations

import copy
import json
import re
import subprocess
import sys
import textwrap
import time
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from odibi.api import validate
from odibi.compile.sql import _RECURSION_FLOOR
from odibi.config.project import load_project_text
from odibi.errors import ConfigError, ConfigErrors

ROOT = Path(__file__).resolve().parents[2]

# odibi raises the recursion limit on its first SQL parse; do it now so that hypothesis does not warn
# that it changed during a test
sys.setrecursionlimit(max(sys.getrecursionlimit(), _RECURSION_FLOOR))


def fuzz(examples: int):
    return settings(
        max_examples=examples,
        derandomize=True,
        deadline=None,
        database=None,
        suppress_health_check=[
            HealthCheck.too_slow,
            HealthCheck.filter_too_much,
            HealthCheck.data_too_large,
            HealthCheck.large_base_example,
        ],
    )


# --------------------------------------------------------------------------- valid seeds

SEED_SIMPLE = """\
project: Sales
description: bronze CSV to silver parquet
engine: duckdb

connections:
  data: {type: local, base_path: ./data}
  out:
    type: local
    base_path: ./output

pipelines:
  - pipeline: bronze_to_silver
    layer: silver
    nodes:
      - name: load_orders
        read:
          connection: data
          path: bronze/orders.csv
          options: {header: true, sep: ","}
      - name: load_customers
        read: {connection: data, path: bronze/customers.parquet}
      - name: clean_orders
        depends_on: [load_orders, load_customers]
        transform:
          steps:
            - |
              SELECT o.order_id, o.amount, c.region
              FROM load_orders AS o
              LEFT JOIN load_customers AS c ON o.customer_id = c.customer_id
            - sql: "SELECT order_id, SUM(amount) AS total FROM df WHERE amount > 0 GROUP BY order_id"
        validation:
          not_empty: true
          no_nulls: [order_id]
          schema:
            required_columns: [order_id, total]
            types: {order_id: int, total: float}
        write:
          connection: out
          path: silver/orders.parquet
          mode: overwrite
"""

SEED_FULL = """\
project: Everything
version: "1.0"
owner: data-team
engine: spark
sql_dialect: spark
engine_options:
  duckdb: {threads: 2, memory_limit: 1GB}
  spark:
    master: local[2]
    conf: {spark.sql.shuffle.partitions: "4"}

connections:
  files: &local
    type: local
    base_path: ./files
  lake:
    type: azure_adls
    account: acct
    container: raw
    auth_mode: direct_key
    account_key: ${ODIBI_FUZZ_UNSET_KEY:-secret}
  more_files:
    <<: *local
    base_path: ./more
  db: {type: sql, url: "postgresql://u:$$p@h/db", schema: public}
  bucket: {type: s3, bucket: b, region: eu-west-1}

story: {connection: files, path: stories/, max_sample_rows: 5}
retry: {enabled: true, max_attempts: 2, backoff: linear}
logging: {level: INFO, structured: true, metadata: {team: x}}

pipelines:
  - name: ingest
    nodes:
      - name: raw_events
        read: {connection: files, path: events.json, format: json}
        cache: true
      - name: events_by_day
        depends_on: [raw_events]
        transform:
          steps:
            - >
              SELECT date_add(CAST(ts AS DATE), 1) AS day, COUNT(*) AS n
              FROM raw_events GROUP BY 1
            - sql: |
                WITH ranked AS (
                  SELECT day, n, ROW_NUMBER() OVER (ORDER BY n DESC) AS r FROM df
                )
                SELECT day, n FROM ranked WHERE r <= 10
        write: {connection: files, path: gold/top_days.csv, format: csv, mode: append}
  - pipeline: export
    description: second pipeline
    nodes:
      - name: totals
        read: {connection: db, table: public.totals}
      - name: copy_totals
        depends_on: [totals]
        write: {connection: bucket, path: exports/totals.parquet}
"""

SEED_DEEP = """\
# a chain of nodes with CTEs, CASE and unions
project: chain
connections:
  c: {type: local_dbfs, root: .dbfs}
pipelines:
  - pipeline: p
    nodes:
      - name: a
        read: {connection: c, path: "dbfs:/a.csv"}
      - name: b
        depends_on: [a]
        transform:
          steps:
            - "SELECT x, CASE WHEN x > 1 THEN 'big' ELSE 'small' END AS size FROM df"
      - name: c
        depends_on: [b, a]
        transform:
          steps:
            - |-
              WITH t AS (SELECT size FROM b UNION ALL SELECT 'a' AS size FROM a),
                   u AS (SELECT size, COUNT(*) AS n FROM t GROUP BY size)
              SELECT * FROM u WHERE n > 0
      - name: d
        depends_on: [c]
        validation: {not_empty: true}
        transform:
          steps: ["SELECT * FROM c WHERE size <> 'x'"]
"""

SEEDS = [SEED_SIMPLE, SEED_FULL, SEED_DEEP]
SEED_DATA = [yaml.safe_load(s) for s in SEEDS]

_BREAKS = re.compile("\r\n|[\r\n\x85\u2028\u2029]")  # what YAML counts as a line break


def line_limit(text: str) -> int:
    """The last line an error may point at: the file's lines (as YAML counts them) + 1 (its end)."""
    return len(_BREAKS.findall(text)) + 2


@pytest.fixture(scope="module")
def cfg_file(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("fuzz") / "odibi.yaml"


def check_file(path: Path, content: str | bytes) -> None:
    """Write ``content`` to ``path`` and validate it: ok, or ConfigError(s) located inside the file."""
    if isinstance(content, str):
        raw = content.encode("utf-8", "surrogatepass")
        text = content
    else:
        raw = content
        text = content.decode("utf-8", "replace")
    path.write_bytes(raw)
    limit = line_limit(text)
    try:
        validate(path)
    except ConfigError as err:
        errors = err.errors if isinstance(err, ConfigErrors) else [err]
        for e in errors:
            assert not isinstance(e, ConfigErrors), f"nested ConfigErrors: {e}"
            assert e.location is not None, f"error without a location: {type(e).__name__}: {e}\n{text}"
            line, col = e.location.line, e.location.col
            assert type(line) is int and 1 <= line <= limit, f"line {line} outside 1..{limit}: {e}\n{text}"
            assert type(col) is int and col >= 1, f"column {col}: {e}\n{text}"
            assert e.message, f"empty message at {e.location}"
            str(e)  # renders
            e.to_dict()
    except KeyboardInterrupt:
        raise
    except BaseException as exc:  # anything else escaping validate is the bug we hunt
        raise AssertionError(
            f"{type(exc).__name__} escaped validate: {exc!r}\n--- config ---\n{text}"
        ) from exc


_Dumper = getattr(yaml, "CSafeDumper", yaml.SafeDumper)


class _BlockDumper(_Dumper):  # multi-line strings as literal blocks, the way people write SQL
    pass


_BlockDumper.add_representer(
    str,
    lambda dumper, value: dumper.represent_scalar(
        "tag:yaml.org,2002:str", value, style="|" if "\n" in value else None
    ),
)


def dump(data: Any, *, block: bool = False) -> str:
    return yaml.dump(
        data,
        Dumper=_BlockDumper if block else _Dumper,
        sort_keys=False,
        allow_unicode=True,
        default_flow_style=False,
    )


def test_seeds_are_valid(cfg_file):
    for seed in SEEDS:
        load_project_text(seed, "seed.yaml")
        cfg_file.write_text(seed, encoding="utf-8")
        validate(cfg_file)


# --------------------------------------------------------------------------- value strategies

TRICKY_STRINGS = [
    "", " ", "~", "null", "yes", "no", "on", "0x1F", "0o17", "1e400", "-.inf", ".nan", "1_000",
    "${ODIBI_FUZZ_UNSET}", "${ODIBI_FUZZ_UNSET:-x}", "$$", "${", "$", "${1}", "%", "@", "`",
    "${vars.x}", "${env:ODIBI_FUZZ_UNSET:-x}", "${date:-1d|%Y}", "${date:x}", "queries/q.sql", "../q.sql",
    "df", "select", "SELECT", "from", "a b", "x.y", "x.y.z", '"q"', "`b`", "[x]", "1x", "é", "DF",
    "load_orders", "LOAD_ORDERS", "2024-01-01", "12:30:00", "\t", "\n", "a\nb", "\\", "'", '"', "#",
    "- a", "a: b", "{", "}", "[", "]", "&a", "*a", "!tag", "|", ">", "\x00", "\x7f", "\u2028", "\ufeff",
    "local", "local_dbfs", "csv", "parquet", "overwrite", "duckdb", "spark", "pandas",
]  # fmt: skip

FIELD_NAMES = [
    "project", "pipelines", "pipeline", "name", "nodes", "connections", "type", "base_path", "read",
    "write", "transform", "steps", "sql", "function", "operation", "params", "depends_on", "validation",
    "schema", "types", "connection", "path", "format", "mode", "options", "engine", "story", "retry",
    "cache", "keys", "description", "<<", "sql_dialect", "engine_options", "vars", "sql_file",
]  # fmt: skip

HUGE = [10**4000, -(10**4000), 2**64, -(2**63) - 1, 10**308 * 10.0, float("nan"), float("-inf"), 1e-320]
TOO_MANY_DIGITS = "9" * 4400  # Python will not turn this into an int (sys.get_int_max_str_digits)

scalars = st.one_of(
    st.none(),
    st.sampled_from(range(len(HUGE))).map(HUGE.__getitem__),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=16),
    st.sampled_from(TRICKY_STRINGS),
    st.dates(),
)
keys = st.one_of(
    st.text(max_size=12),
    st.sampled_from(FIELD_NAMES),
    st.sampled_from(TRICKY_STRINGS),
    st.integers(min_value=-(2**40), max_value=2**40),
    st.none(),
    st.booleans(),
    st.floats(allow_nan=False),
)
values = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(keys, inner, max_size=4),
    max_leaves=8,
)
names = st.one_of(
    st.from_regex(r"[A-Za-z_][A-Za-z0-9_]{0,10}", fullmatch=True),
    st.text(max_size=10),
    st.sampled_from(TRICKY_STRINGS),
)


def paths(data: Any, prefix: tuple = ()) -> list[tuple]:
    """Every path into ``data`` (the root included)."""
    out = [prefix]
    if isinstance(data, dict):
        for k, v in data.items():
            out.extend(paths(v, (*prefix, k)))
    elif isinstance(data, list):
        for i, v in enumerate(data):
            out.extend(paths(v, (*prefix, i)))
    return out


def get(data: Any, path: tuple) -> Any:
    for p in path:
        data = data[p]
    return data


def put(data: Any, path: tuple, value: Any) -> Any:
    if not path:
        return value
    get(data, path[:-1])[path[-1]] = value
    return data


# --------------------------------------------------------------------------- structural mutations


@st.composite
def replace_value(draw, data):
    path = draw(st.sampled_from(paths(data)[1:]))  # the root: see random_yaml
    return put(data, path, draw(values))


@st.composite
def add_unknown_key(draw, data):
    maps = [p for p in paths(data) if isinstance(get(data, p), dict)]
    target = get(data, draw(st.sampled_from(maps)))
    target[draw(keys)] = draw(values)
    return data


@st.composite
def delete_entry(draw, data):
    candidates = [p for p in paths(data) if p]
    path = draw(st.sampled_from(candidates))
    parent = get(data, path[:-1])
    del parent[path[-1]]
    return data


@st.composite
def duplicate_item(draw, data):
    lists = [p for p in paths(data) if isinstance(get(data, p), list) and get(data, p)]
    if not lists:
        return data
    items = get(data, draw(st.sampled_from(lists)))
    items.append(copy.deepcopy(draw(st.sampled_from(items))))
    return data


def _is_sql(path: tuple) -> bool:
    return path[-1] == "sql" or (len(path) > 1 and path[-2] == "steps")


def _reference_sites(data: Any) -> list[tuple]:
    """Paths of strings that name something: connections, dependencies, node names, SQL text."""
    out = []
    for p in paths(data):
        if not p:
            continue
        last = p[-1]
        parent = p[-2] if len(p) > 1 else None
        named = last in ("connection", "name", "pipeline", "sql") or parent in ("depends_on", "steps")
        if named and isinstance(get(data, p), str):
            out.append(p)
    return out


@st.composite
def break_reference(draw, data):
    sites = _reference_sites(data)
    kind = draw(st.sampled_from(["site", "connection_key", "sql_table"]))
    conns = data.get("connections") if isinstance(data, dict) else None
    if kind == "connection_key" and isinstance(conns, dict) and conns:
        old = draw(st.sampled_from(sorted(conns, key=str)))
        conns[draw(names)] = conns.pop(old)
        return data
    path = draw(st.sampled_from(sites))
    old = get(data, path)
    words = sorted(set(re.findall(r"[A-Za-z_]\w*", old)))
    if kind == "sql_table" and _is_sql(path) and words:
        word = draw(st.sampled_from(words))
        new = re.sub(rf"\b{word}\b", lambda _m: draw(names), old, count=draw(st.integers(0, 3)))
        return put(data, path, new)
    return put(data, path, draw(names))


MUTATIONS = [replace_value, add_unknown_key, delete_entry, duplicate_item, break_reference]


@st.composite
def mutated_data(draw):
    data = copy.deepcopy(draw(st.sampled_from(SEED_DATA)))
    for _ in range(draw(st.integers(1, 3))):
        mutation = draw(st.sampled_from(MUTATIONS))
        if not isinstance(data, dict | list) or not data:
            break
        if mutation is break_reference and not _reference_sites(data):
            continue
        data = draw(mutation(data))
    return dump(data)


@fuzz(3000)
@given(mutated_data())
def test_mutated_structure(cfg_file, text):
    check_file(cfg_file, text)


# --------------------------------------------------------------------------- text mutations

YAML_CHARS = [*list(":-[]{}\"'|>&*!#%@`,?\t\\ \n"), "\r", "\r\n", "\x85", "\u2028", "\ufeff", "\x1b", "\x7f"]


@st.composite
def truncated(draw):
    text = draw(st.sampled_from(SEEDS))
    return text[: draw(st.integers(0, len(text)))]


@fuzz(1500)
@given(truncated())
def test_truncated(cfg_file, text):
    check_file(cfg_file, text)


@st.composite
def edited_text(draw):
    text = draw(st.sampled_from(SEEDS))
    for _ in range(draw(st.integers(1, 3))):
        lines = text.split("\n")
        i = draw(st.integers(0, len(lines) - 1))
        op = draw(
            st.sampled_from(["indent", "dedent", "tab", "delete", "duplicate", "swap", "char", "token"])
        )
        if op == "indent":
            lines[i] = " " * draw(st.integers(1, 6)) + lines[i]
        elif op == "dedent":
            lines[i] = lines[i][draw(st.integers(1, 6)) :]
        elif op == "tab":
            lines[i] = "\t" + lines[i].lstrip(" ")
        elif op == "delete":
            del lines[i]
        elif op == "duplicate":
            lines.insert(i, lines[i])
        elif op == "swap":
            j = draw(st.integers(0, len(lines) - 1))
            lines[i], lines[j] = lines[j], lines[i]
        else:
            line = lines[i]
            at = draw(st.integers(0, len(line)))
            if op == "char":
                new = draw(st.sampled_from(YAML_CHARS) | st.characters(codec="utf-8"))
                cut = draw(st.integers(0, 1))
            else:
                new = draw(st.sampled_from([*TRICKY_STRINGS, *FIELD_NAMES, TOO_MANY_DIGITS]))
                cut = draw(st.integers(0, 4))
            lines[i] = line[:at] + new + line[at + cut :]
        text = "\n".join(lines)
    return text


@fuzz(2500)
@given(edited_text())
def test_edited_text(cfg_file, text):
    check_file(cfg_file, text)


@st.composite
def corrupted_bytes(draw):
    raw = bytearray(draw(st.sampled_from(SEEDS)).encode("utf-8"))
    for _ in range(draw(st.integers(1, 4))):
        at = draw(st.integers(0, len(raw)))
        junk = draw(
            st.binary(min_size=1, max_size=6)
            | st.sampled_from([b"\x00", b"\xff", b"\xc3", b"\xef\xbb\xbf", b"\x1b[0m", b"\r", b"\x0c"])
        )
        raw[at : at + draw(st.integers(0, 2))] = junk
    return bytes(raw)


@fuzz(1000)
@given(corrupted_bytes() | st.binary(max_size=64))
def test_random_bytes(cfg_file, raw):
    check_file(cfg_file, raw)


# --------------------------------------------------------------------------- random YAML

SQL_TOKENS = [
    "SELECT", "*", "FROM", "df", "WHERE", "x", "=", "1", "(", ")", ",", "AS", "JOIN", "ON", "WITH", "t",
    "UNION", "ALL", "CASE", "WHEN", "THEN", "ELSE", "END", "GROUP", "BY", "ORDER", "LIMIT", "::", "[",
    "]", "{", "}", ";", "--", "/*", "*/", "'", '"', "`", "$1", "?", ":name", "@x", "INSERT", "INTO",
    "VALUES", "DROP", "TABLE", "CREATE", "RECURSIVE", "OVER", "PARTITION", "a.b.c", "NULL", "->", "||",
    "load_orders", "\n", "LATERAL", "PIVOT", "QUALIFY", "STRUCT", "<", ">", "INTERVAL", "%", "\\",
]  # fmt: skip

SQL_SNIPPETS = [
    "WITH RECURSIVE t AS (SELECT 1 AS n UNION ALL SELECT n + 1 FROM t) SELECT * FROM t",
    "SELECT * FROM a.b", "SELECT * FROM c.a.b", "SELECT * FROM df, df", "SELECT * FROM range(10)",
    "SELECT * FROM df AS load_orders", "WITH df AS (SELECT 1) SELECT * FROM df",
    "WITH a AS (SELECT 1) SELECT * FROM a", "WITH clean_orders AS (SELECT 1) SELECT * FROM clean_orders",
    "SELECT * FROM (VALUES (1)) t", "VALUES (1)", "INSERT INTO x SELECT 1", "SELECT 1; SELECT 2", ";",
    "SELECT * FROM read_csv('x')", "PIVOT df ON x USING sum(y)", "FROM df", "SELECT * FROM \"df\"",
    "SELECT * FROM `df`", "SELECT * FROM [df]", "SELECT * FROM df@v",
    "WITH x AS (WITH y AS (SELECT 1) SELECT * FROM y) SELECT * FROM x", "SELECT (SELECT * FROM x)",
    "SELECT * FROM df WHERE x IN (SELECT y FROM zzz)", "SELECT $1", "SELECT ?", "SELECT :a",
    "EXPLAIN SELECT 1", "DESCRIBE df", "SHOW TABLES", "SELECT * EXCLUDE (x) FROM df",
    "SELECT * FROM df QUALIFY ROW_NUMBER() OVER () = 1", "SELECT {'a': 1}", "SELECT [1, 2][1]",
    "SELECT x::INT FROM df", "SELECT * FROM df JOIN df USING (x)", "SELECT * FROM df AS df2, df AS df3",
    "SELECT * FROM ${ODIBI_FUZZ_UNSET:-df}", "SELECT 1 ${ODIBI_FUZZ_UNSET:-\n\n\n\n\n\n\n\n} FROM",
    "SELECT\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n FROM WHERE",
    "SELECT * FROM df UNION SELECT * FROM load_orders", "SELECT * FROM df WINDOW w AS (ORDER BY x)",
    "SELECT * FROM UNNEST([1, 2])", "SELECT * FROM df TABLESAMPLE (10 PERCENT)", "SELECT 'x' 'y'",
    "SELECT * FROM df LIMIT ALL", "SELECT * FROM df ORDER BY ALL", "SELECT COLUMNS('a.*') FROM df",
    "SELECT * FROM df, LATERAL (SELECT 1)", "SELECT 1 FROM df GROUP BY CUBE (x)", "TABLE df",
    "SELECT * FROM df MATCH_RECOGNIZE (ORDER BY x)", "SELECT * FROM df ASOF JOIN df USING (x)",
    "(SELECT 1)", "((SELECT * FROM df))", "SELECT * FROM (df)", "SELECT * FROM df AS (a, b)",
    "WITH t AS MATERIALIZED (SELECT 1) SELECT * FROM t", "SELECT 1 /* unclosed", "SELECT 'unclosed",
]  # fmt: skip

sql_text = st.one_of(
    st.sampled_from(SQL_SNIPPETS),
    st.lists(st.sampled_from(SQL_TOKENS), max_size=14).map(" ".join),
    st.lists(st.sampled_from(SQL_TOKENS), max_size=14).map("".join),
    st.text(max_size=30),
)


@st.composite
def random_sql(draw):
    data = copy.deepcopy(draw(st.sampled_from(SEED_DATA)))
    sites = [p for p in _reference_sites(data) if _is_sql(p)]
    for _ in range(draw(st.integers(1, 2))):
        path = draw(st.sampled_from(sites))
        old = get(data, path)
        at = draw(st.integers(0, len(old)))
        new = draw(st.sampled_from(["replace", "insert", "truncate"]))
        if new == "replace":
            put(data, path, draw(sql_text))
        elif new == "insert":
            put(data, path, old[:at] + " " + draw(sql_text) + " " + old[at:])
        else:
            put(data, path, old[:at])
    return dump(data, block=draw(st.booleans()))


@fuzz(1500)
@given(random_sql())
def test_random_sql(cfg_file, text):
    check_file(cfg_file, text)


@st.composite
def random_yaml(draw):
    shape = draw(st.sampled_from(["any", "project", "node"]))
    if shape == "any":
        return dump(draw(values))
    if shape == "project":
        doc = draw(st.dictionaries(st.sampled_from(FIELD_NAMES) | keys, values, max_size=6))
        return dump(doc)
    node = draw(st.dictionaries(st.sampled_from(FIELD_NAMES), values, max_size=5))
    node.setdefault("name", draw(names))
    doc = {
        "project": "p",
        "connections": {"c": {"type": "local"}},
        "pipelines": [{"pipeline": "x", "nodes": [node]}],
    }
    return dump(doc)


@fuzz(1000)
@given(random_yaml())
def test_random_yaml(cfg_file, text):
    check_file(cfg_file, text)


# --------------------------------------------------------------------------- schema-generated documents


def _for_generation(node: Any) -> Any:
    """The checked-in schema with each editor-friendly tagged union (an enum tag + one ``if``/``then``
    per tag, see odibi/config/schema.py) written back as a plain ``oneOf`` of the variants: the same
    documents, in a shape hypothesis-jsonschema generates from in reasonable time. Every generated
    document is still checked against the checked-in schema itself."""
    if isinstance(node, list):
        return [_for_generation(item) for item in node]
    if not isinstance(node, dict):
        return node
    node = {key: _for_generation(value) for key, value in node.items()}
    branches = node.get("allOf")
    if isinstance(branches, list) and branches and all(set(b) == {"if", "then"} for b in branches):
        kept = {k: v for k, v in node.items() if k not in ("allOf", "properties", "required", "type")}
        return {**kept, "oneOf": [b["then"] for b in branches]}
    return node


@pytest.mark.slow
def test_schema_valid_documents_load(cfg_file):
    """Documents the JSON Schema (editors) accepts: validate never fails with anything but a located
    ConfigError, and (the agreement) odibi's models accept them too.

    hypothesis-jsonschema needs seconds per document on this schema, so the count is small."""
    hypothesis_jsonschema = pytest.importorskip("hypothesis_jsonschema")
    import jsonschema

    schema = json.loads((ROOT / "schemas" / "odibi.schema.json").read_text(encoding="utf-8"))
    validator = jsonschema.Draft202012Validator(schema)
    disagreements: list[str] = []

    @fuzz(3)
    @given(hypothesis_jsonschema.from_schema(_for_generation(schema)))
    def run(doc):
        assert not list(validator.iter_errors(doc)), doc  # the checked-in schema accepts it
        text = dump(doc)
        check_file(cfg_file, text)
        try:
            load_project_text(text, "schema-doc.yaml")
        except ConfigError as err:
            disagreements.append(f"{err}\n{text}")

    run()
    assert not disagreements, (
        f"the schema accepts {len(disagreements)} document(s) odibi rejects, e.g.:\n{disagreements[0]}"
    )


# --------------------------------------------------------------------------- resource limits


def _rejected_quickly(text: str, fragment: str, seconds: float = 2.0) -> ConfigError:
    start = time.perf_counter()
    with pytest.raises(ConfigError) as info:
        load_project_text(text, "bomb.yaml")
    elapsed = time.perf_counter() - start
    assert elapsed < seconds, f"took {elapsed:.2f}s"
    err = info.value
    assert err.location is not None and err.location.line >= 1
    assert fragment in err.message.lower(), err.message
    return err


def test_billion_laughs_rejected_quickly():
    lines = ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    for i in range(1, 10):
        prev, cur = chr(ord("a") + i - 1), chr(ord("a") + i)
        lines.append(f"{cur}: &{cur} [{','.join(['*' + prev] * 9)}]")
    _rejected_quickly("\n".join(lines) + "\n", "alias bomb")


def test_deep_flow_nesting_rejected_quickly():
    _rejected_quickly("project: " + "[" * 10_000 + "]" * 10_000 + "\n", "nested")
    _rejected_quickly("project: " + "{a: " * 10_000 + "1" + "}" * 10_000 + "\n", "nested")


def test_deep_block_nesting_rejected_quickly():
    text = "".join(" " * i + f"k{i}:\n" for i in range(10_000)) + " " * 10_000 + "v\n"
    err = _rejected_quickly(text, "nested")
    assert err.location.line <= 10_001
    block_list = "".join("  " * i + "-\n" for i in range(10_000))
    _rejected_quickly(block_list, "nested")


_DEEP_SQL = {
    "parens": "SELECT " + "(" * 10_000 + "1" + ")" * 10_000 + " AS x FROM df",
    "sum": "SELECT " + " + ".join(["1"] * 10_000) + " AS x FROM df",
    "case": "SELECT " + "CASE WHEN x > 0 THEN " * 10_000 + "1" + " END" * 10_000 + " AS y FROM df",
    "subqueries": "SELECT * FROM " + "(SELECT * FROM " * 10_000 + "df" + ")" * 10_000,
    "functions": "SELECT " + "abs(" * 10_000 + "x" + ")" * 10_000 + " AS y FROM df",
    "not": "SELECT * FROM df WHERE " + "NOT " * 10_000 + "x",
    "minus": "SELECT " + "-" * 10_000 + "x AS y FROM df",
}

_DEEP_SCRIPT = textwrap.dedent(
    """
    import json, sys
    from odibi.api import validate, compile_project
    from odibi.errors import ConfigError
    sql = sys.stdin.read()
    path = sys.argv[1]
    with open(path, "w", encoding="utf-8") as f:
        f.write(
            "project: deep\\n"
            "connections:\\n"
            "  c: {type: local}\\n"
            "pipelines:\\n"
            "  - pipeline: p\\n"
            "    nodes:\\n"
            "      - name: a\\n"
            "        read: {connection: c, path: x.csv}\\n"
            "        transform:\\n"
            "          steps:\\n"
            "            - |\\n"
            "              " + sql + "\\n"
        )
    try:
        validate(path, engine="duckdb")
        compile_project(path)
        compile_project(path, dialect="spark")
        print(json.dumps({"ok": True}))
    except ConfigError as err:
        print(json.dumps({"ok": False, "kind": type(err).__name__, "line": err.location and err.location.line,
                          "message": err.message}))
    """
)


@pytest.mark.parametrize("kind", sorted(_DEEP_SQL))
def test_deep_sql_is_located_not_a_crash(kind, tmp_path):
    start = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, "-c", _DEEP_SCRIPT, str(tmp_path / "odibi.yaml")],
        input=_DEEP_SQL[kind],
        capture_output=True,
        text=True,
        timeout=120,
    )
    elapsed = time.perf_counter() - start
    assert proc.returncode == 0, f"exit {proc.returncode} after {elapsed:.1f}s\n{proc.stderr[-3000:]}"
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    if not result["ok"]:
        assert result["kind"] == "CompileError", result
        assert result["line"] == 12, result  # the step's line
    assert elapsed < 60, f"{kind}: {elapsed:.1f}s"


# --------------------------------------------------------------------------- schema components, in the default run

_SCHEMA = json.loads((ROOT / "schemas" / "odibi.schema.json").read_text(encoding="utf-8"))
_TOP_LEVEL = {"EngineOptions": "engine_options", "StoryConfig": "story", "RetryConfig": "retry",
              "LoggingConfig": "logging"}  # fmt: skip
_IN_NODE = {
    "ReadConfig": ("src", "read"),
    "WriteConfig": ("n", "write"),
    "ValidationConfig": ("n", "validation"),
}
_STEPS = [*sorted(d for d in _SCHEMA["$defs"] if d.endswith("Operation")), "SqlStep", "FunctionStep"]
_CONNECTIONS = sorted(d for d in _SCHEMA["$defs"] if d.endswith("Connection"))
_UNSATISFIABLE = {  # hypothesis-jsonschema only filters `if`/`then` branches; these it cannot satisfy
    "WindowOperation": "three if/then rules on WindowParams: hypothesis-jsonschema finds no document",
}


def _component_cases():
    for name in [*_CONNECTIONS, *_STEPS, *_IN_NODE, *_TOP_LEVEL]:
        reason = _UNSATISFIABLE.get(name)
        marks = [pytest.mark.xfail(strict=True, reason=reason)] if reason else []
        yield pytest.param(name, marks=marks, id=name)


def _embed(name: str, value: Any) -> dict:
    """A valid project with ``value`` (a ``name`` from the schema's $defs) in its place."""
    doc: dict = {
        "project": "p",
        "connections": {"c": {"type": "local", "base_path": "."}},
        "pipelines": [{"pipeline": "x", "nodes": [
            {"name": "src", "read": {"connection": "c", "path": "a.csv"}},
            {"name": "n", "depends_on": ["src"], "transform": {"steps": ["SELECT * FROM df"]}},
        ]}],
    }  # fmt: skip
    nodes = {n["name"]: n for n in doc["pipelines"][0]["nodes"]}
    if name in _CONNECTIONS:
        doc["connections"]["c"] = value
    elif name in _STEPS:
        nodes["n"]["transform"]["steps"] = [value]
    elif name in _IN_NODE:
        node, key = _IN_NODE[name]
        nodes[node][key] = value
    else:
        doc[_TOP_LEVEL[name]] = value
    return doc


@pytest.mark.parametrize("name", list(_component_cases()))
def test_schema_components_load(name):
    """Every part of the JSON Schema an editor completes (each connection type, each operation and step
    kind, read / write / validation blocks, the top-level options), generated by hypothesis-jsonschema
    and placed in an otherwise valid project: what the schema accepts, odibi's models accept.

    The whole-document version (test_schema_valid_documents_load) needs minutes per handful of
    documents, so it is `slow`; generated one part at a time, 25 documents each take about a second."""
    hypothesis_jsonschema = pytest.importorskip("hypothesis_jsonschema")
    import jsonschema

    validator = jsonschema.Draft202012Validator(_SCHEMA)
    generation = _for_generation(_SCHEMA)

    @fuzz(25)
    @given(hypothesis_jsonschema.from_schema({"$defs": generation["$defs"], "$ref": f"#/$defs/{name}"}))
    def run(value):
        doc = _embed(name, value)
        assert not list(validator.iter_errors(doc)), doc  # the checked-in schema accepts the project
        try:  # strings as written: a generated "${X}" is a value here, not an unset variable
            load_project_text(dump(_literal(doc)), "component.yaml")
        except ConfigError as err:
            raise AssertionError(
                f"the schema accepts this {name}, odibi does not:\n{err}\n{dump(doc)}"
            ) from None

    run()


def _literal(value: Any) -> Any:
    """``value`` with every ``$`` of its strings escaped (``$$``), so that loading gives them back as is.

    Hypothesis draws strings from the constants of the code it runs with, which hold many ``${...}``."""
    if isinstance(value, str):
        return value.replace("$", "$$")
    if isinstance(value, dict):
        return {_literal(k): _literal(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_literal(v) for v in value]
    return value
