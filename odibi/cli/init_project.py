"""``odibi init``: write a small, runnable starter project.

The project is one ``odibi.yaml`` (its first line points the YAML language server at a copy of the JSON
Schema written beside it, so completion and checks work offline), a CSV under ``data/`` and one pipeline
of three nodes: a read, a SQL transform and a write. Existing files are never overwritten unless
``force`` is given.
"""

from __future__ import annotations

import re
from pathlib import Path

from odibi.errors import UsageError

CONFIG_NAME = "odibi.yaml"
SCHEMA_NAME = "odibi.schema.json"
DATA_NAME = "data/sales.csv"

_SALES_CSV = """\
order_id,customer_id,order_date,amount,status
1, c001 ,2024-01-05,120.50,paid
2,C002,2024-01-06,35.00,paid
3,c003,2024-01-09,-5.00,refund
4,C001,2024-02-11,80.25,paid
5,c004,2024-02-14,,paid
6,C002,2024-02-20,210.00,cancelled
7,c005,2024-03-02,64.10,paid
"""

_CONFIG = """\
# yaml-language-server: $schema=./{schema}
#
# A starter odibi project. Run it with:
#
#   odibi validate {config}       (schema, references and every SQL step, without running)
#   odibi run      {config}       (writes output/sales_clean.csv)
#
# Editors with the YAML language server (VS Code's "YAML" extension, ...) complete keys and values and
# flag mistakes through the first line above; `odibi schema -o {schema}` refreshes the schema.

project: {name}
engine: duckdb                       # duckdb (default) | pandas | spark

connections:
  data:    {{type: local, base_path: ./data}}      # relative to this file's folder
  outputs: {{type: local, base_path: ./output}}

pipelines:
  - pipeline: sales
    description: Raw sales CSV -> clean, paid orders.
    nodes:
      - name: raw_sales
        description: Read the raw CSV.
        read: {{connection: data, path: sales.csv, format: csv, options: {{header: true}}}}

      - name: clean_sales
        description: Normalise ids, keep paid orders with a positive amount.
        depends_on: [raw_sales]
        transform:
          steps:
            - |
              SELECT
                CAST(order_id AS INTEGER)     AS order_id,
                UPPER(TRIM(customer_id))      AS customer_id,
                CAST(order_date AS DATE)      AS order_date,
                CAST(amount AS DOUBLE)        AS amount,
                LOWER(TRIM(status))           AS status
              FROM raw_sales
            - sql: SELECT * FROM df WHERE status = 'paid' AND amount > 0    # df = the previous step
        validation: {{not_empty: true, no_nulls: [order_id, customer_id]}}

      - name: write_sales
        description: Write the clean orders.
        depends_on: [clean_sales]
        write: {{connection: outputs, path: sales_clean.csv, format: csv, mode: overwrite}}
"""


def _project_name(target: Path, name: str | None) -> str:
    if name:
        return name
    base = target.resolve().name
    return re.sub(r"[^A-Za-z0-9 _.-]+", " ", base).strip() or "odibi project"


def _yaml_scalar(text: str) -> str:
    """``text`` as a YAML double-quoted scalar (safe for any project name)."""
    escaped = text.replace("\\", "\\\\").replace('"', '\\"')
    return f'"{escaped}"'


def init_project(target: Path, name: str | None = None, force: bool = False) -> list[Path]:
    """Write a starter project into ``target`` (created if missing); return the files written.

    Raises :class:`UsageError` (exit code 2) when a file would be overwritten and ``force`` is false, or
    when ``target`` exists and is not a folder.
    """
    from odibi.config.schema import schema_text

    target = Path(target)
    if target.exists() and not target.is_dir():
        raise UsageError(f"'{target}' exists and is not a folder", hint="give a new or existing folder")
    files = {
        target / CONFIG_NAME: _CONFIG.format(
            schema=SCHEMA_NAME, config=CONFIG_NAME, name=_yaml_scalar(_project_name(target, name))
        ),
        target / SCHEMA_NAME: schema_text(),
        target / DATA_NAME: _SALES_CSV,
    }
    existing = [path for path in files if path.exists()]
    if existing and not force:
        listed = ", ".join(str(path) for path in existing)
        raise UsageError(
            f"not overwriting existing file(s): {listed}",
            hint="use --force to overwrite them, or choose another folder",
        )
    written = []
    for path, text in files.items():
        if path.exists() and not path.is_file():
            raise UsageError(f"'{path}' exists and is not a file", hint="remove it or choose another folder")
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8", newline="\n")
        written.append(path)
    return written
