"""The portability check: run one project on several engines and compare every output they write.

Each engine writes into its own scratch folder (``.odibi/compare/<engine>/`` under the project), reads of
files written earlier in the same run are redirected there too, and each output is then read back with
one reader (pyarrow) and compared: column names, logical types, row counts, and values (as multisets,
floats within a relative tolerance), with the first differing rows.
"""

from __future__ import annotations

import math
import os
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


@dataclass
class OutputComparison:
    """One written output, as each engine produced it."""

    target: str
    engines: list[str]
    differences: list[str] = field(default_factory=list)
    examples: list[dict[str, Any]] = field(default_factory=list)

    @property
    def agree(self) -> bool:
        return not self.differences


@dataclass
class Comparison:
    """Runs per engine and the comparison of their outputs."""

    runs: dict[str, Any]
    outputs: list[OutputComparison]

    @property
    def ok(self) -> bool:
        return all(r.ok for r in self.runs.values()) and all(o.agree for o in self.outputs)


class ScratchRedirect:
    """Sends an engine's writes (and reads of what it wrote) into its scratch folder."""

    def __init__(self, root: Path, scratch: Path) -> None:
        self.root = root
        self.scratch = scratch
        self.written: dict[str, str] = {}

    def __call__(self, uri: str, kind: str) -> str:
        if kind == "read":
            return self.written.get(uri, uri)
        rel = os.path.relpath(uri, self.root)
        if rel.startswith(".."):
            rel = "_outside_/" + uri.lstrip("/")
        target = str(self.scratch / rel)
        self.written[uri] = target
        return target


def scratch_root(root: Path) -> Path:
    return root / ".odibi" / "compare"


def prepare(root: Path, engine: str) -> ScratchRedirect:
    folder = scratch_root(root) / engine
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True, exist_ok=True)
    return ScratchRedirect(root, folder)


def compare_outputs(
    redirects: dict[str, ScratchRedirect], root: Path, *, rel_tol: float = 1e-9, max_examples: int = 5
) -> list[OutputComparison]:
    """Compare every output any engine wrote."""
    targets = list(dict.fromkeys(t for r in redirects.values() for t in r.written))
    out = []
    for target in targets:
        engines = [e for e, r in redirects.items() if target in r.written]
        comp = OutputComparison(os.path.relpath(target, root), list(redirects))
        missing = [
            e for e in redirects if e not in engines or not Path(redirects[e].written[target]).exists()
        ]
        if missing:
            comp.differences.append(f"not written by {', '.join(missing)}")
            out.append(comp)
            continue
        frames = {e: _read(redirects[e].written[target]) for e in engines}
        _compare(comp, frames, rel_tol, max_examples)
        out.append(comp)
    return out


def _read(path: str):
    """Read an output with one reader, whatever engine wrote it."""
    import pyarrow.csv as pcsv
    import pyarrow.json as pjson
    import pyarrow.parquet as pq

    p = Path(path)
    suffix = p.suffix.lower() if p.is_file() else next((f.suffix.lower() for f in p.iterdir()), "")
    if suffix in (".parquet", ".pq"):
        table = pq.read_table(p)
    elif suffix in (".json", ".jsonl", ".ndjson"):
        table = pjson.read_json(p)
    else:
        table = pcsv.read_csv(p)
    return table


def _logical(arrow_type) -> str:
    import pyarrow.types as t

    for check, name in ((t.is_integer, "int"), (t.is_floating, "float"), (t.is_decimal, "decimal"),
                        (t.is_string, "string"), (t.is_large_string, "string"), (t.is_boolean, "bool"),
                        (t.is_date, "date"), (t.is_timestamp, "timestamp")):  # fmt: skip
        if check(arrow_type):
            return name
    return str(arrow_type)


def _compare(comp: OutputComparison, tables: dict[str, Any], rel_tol: float, max_examples: int) -> None:
    base_engine, base = next(iter(tables.items()))
    base_schema = {f.name: _logical(f.type) for f in base.schema}
    for engine, table in tables.items():
        if engine == base_engine:
            continue
        schema = {f.name: _logical(f.type) for f in table.schema}
        if list(schema) != list(base_schema):
            comp.differences.append(f"columns: {base_engine} {list(base_schema)} vs {engine} {list(schema)}")
            continue
        types = [f"{c}: {base_schema[c]} vs {schema[c]}" for c in schema if schema[c] != base_schema[c]]
        if types:
            comp.differences.append(f"types ({base_engine} vs {engine}): " + "; ".join(types))
        if table.num_rows != base.num_rows:
            comp.differences.append(f"rows: {base_engine} {base.num_rows:,} vs {engine} {table.num_rows:,}")
        a, b = _sorted_rows(base), _sorted_rows(table)
        diffs = 0
        for i in range(max(len(a), len(b))):
            left = a[i] if i < len(a) else None
            right = b[i] if i < len(b) else None
            if left is None or right is None or not _rows_equal(left, right, rel_tol):
                if diffs < max_examples:
                    comp.examples.append({"row": i, base_engine: left, engine: right})
                diffs += 1
        if diffs:
            comp.differences.append(f"values: {diffs:,} row(s) differ between {base_engine} and {engine}")


def _key(value: Any) -> tuple:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return (2, "")
    if isinstance(value, int | float):
        return (0, float(value), "")
    return (1, str(value))


def _sorted_rows(table) -> list[dict[str, Any]]:
    rows = table.to_pylist()
    names = table.column_names
    return sorted(rows, key=lambda r: tuple(_key(r[n]) for n in names))


def _rows_equal(a: dict, b: dict, rel_tol: float) -> bool:
    for key, left in a.items():
        right = b.get(key)
        if isinstance(left, float) and isinstance(right, float):
            if math.isnan(left) and math.isnan(right):
                continue
            if not math.isclose(left, right, rel_tol=rel_tol, abs_tol=1e-12):
                return False
        elif left != right:
            return False
    return True
