"""The Spark engine: nodes are Spark DataFrames registered as temporary views.

An active session (Databricks, a notebook, a test fixture) is reused as it is; otherwise odibi builds one
local session per process (:func:`shared_session`) and keeps it for later runs, because a session takes
seconds to start. ``close()`` drops the views and caches the engine made and never stops a session it
did not create itself (``SparkEngine(stop_session=True)`` stops a session it built).

The settings come from the config (``engine_options: {spark: {master, remote, app_name, conf}}``), so a
project moves from a laptop to a cluster by configuration alone. ``remote: "sc://host:15002"`` runs on a
Spark Connect server (:func:`remote_session`, one client session per URL and process, reused like the
local one; it wins over an active local session, since the config names where to run). A Connect session
has no JVM in this process: no ``sparkContext``, and columns, observations and type parsing come from
``pyspark.sql.connect``; the engine picks them per DataFrame, so local and Connect sessions coexist in one
process. Limits on Connect: the CSV option ``skip_rows`` needs the RDD API and is refused; and writes
still finish on the local filesystem (Spark writes a scratch folder, odibi moves the part file into
place), so they work when the server shares this machine's filesystem (a server on the same host) and
need remote paths for a remote cluster (a later issue).

Spark writes directories of part files; odibi writes what the user named: a single file at the path
(coalesced to one partition, written to a scratch folder beside the target, the part file moved into the
staging entry of :func:`odibi.connections.staging.stage`, then committed by rename), and a directory only when the
target already is one. Readers and writers are tuned to give the values the DuckDB engine gives: RFC 4180
quote escaping, 64-bit integers from CSV inference, ``yyyy-MM-dd HH:mm:ss`` timestamps in text output,
nulls kept in JSON. Spark docs: https://spark.apache.org/docs/latest/sql-data-sources-csv.html
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import threading
import uuid
from pathlib import Path
from typing import Any

from odibi.connections.staging import mark_output, stage
from odibi.engines.base import Capability, ReadSpec, WriteSpec
from odibi.engines.spark_session import (
    _alive,
    _apply_conf,
    _release,
    _require_pyspark,
    build_remote_session,
    build_session,
    is_connect,
    remote_session,
    shared_session,
    stop_remote_sessions,
)
from odibi.errors import EngineError, NodeExecutionError
from odibi.formats import malformed
from odibi.formats.options import OptionError, normalise, normalise_write

# canonical option → Spark DataFrameReader/Writer option (None: handled by the engine itself)
_CSV_READ = {
    "header": "header", "delimiter": "sep", "quote": "quote", "escape": "escape",
    "date_format": "dateFormat", "timestamp_format": "timestampFormat", "null_value": "nullValue",
    "encoding": "encoding", "comment": "comment", "compression": None, "infer_schema": None,
    "types": None, "names": None, "skip_rows": None, "on_bad_lines": None,
}  # fmt: skip
_CSV_WRITE = {
    "header": "header", "delimiter": "sep", "quote": "quote", "escape": "escape",
    "date_format": "dateFormat", "timestamp_format": "timestampFormat", "null_value": "nullValue",
    "compression": "compression", "encoding": "encoding",
}  # fmt: skip
_PARQUET_READ = {"union_by_name": "mergeSchema", "hive_partitioning": None, "compression": None}
_PARQUET_WRITE = {"compression": "compression"}
_JSON_READ = {"compression": None, "date_format": "dateFormat", "timestamp_format": "timestampFormat",
              "lines": None}  # fmt: skip
_JSON_WRITE = {
    "compression": "compression",
    "date_format": "dateFormat",
    "timestamp_format": "timestampFormat",
}

# pandas / DuckDB type names users write in `types:` → Spark DDL types
_TYPES = {
    "str": "string", "string": "string", "object": "string", "varchar": "string", "text": "string",
    "int": "bigint", "int64": "bigint", "bigint": "bigint", "long": "bigint", "int32": "int", "integer": "int",
    "int16": "smallint", "smallint": "smallint", "int8": "tinyint", "tinyint": "tinyint",
    "float": "double", "float64": "double", "double": "double", "float32": "float", "real": "float",
    "bool": "boolean", "boolean": "boolean", "date": "date",
    "datetime64[ns]": "timestamp_ntz", "datetime": "timestamp_ntz", "timestamp": "timestamp_ntz",
    "timestamptz": "timestamp", "timestamp with time zone": "timestamp",
}  # fmt: skip

# strftime (DuckDB / pandas style) → Java DateTimeFormatter (Spark style)
_STRFTIME = {
    "%Y": "yyyy", "%y": "yy", "%m": "MM", "%d": "dd", "%H": "HH", "%I": "hh", "%M": "mm", "%S": "ss",
    "%f": "SSSSSS", "%p": "a", "%b": "MMM", "%B": "MMMM", "%a": "EEE", "%A": "EEEE", "%j": "DDD",
    "%z": "XX", "%Z": "z", "%%": "%",
}  # fmt: skip

# the column Spark puts a malformed record in (PERMISSIVE mode); odibi counts, refuses or drops such rows
_CORRUPT = "_odibi_malformed_record"

# the text forms the DuckDB engine writes
_DATE_TEXT = "yyyy-MM-dd"
_TS_TEXT = "yyyy-MM-dd HH:mm:ss"


def _functions(df):
    """``pyspark.sql.functions`` for ``df``'s kind (Connect columns cannot mix with local ones)."""
    if is_connect(df):
        from pyspark.sql.connect import functions
    else:
        from pyspark.sql import functions
    return functions


def quote_ident(name: str) -> str:
    return "`" + name.replace("`", "``") + "`"


def java_pattern(pattern: str) -> str:
    """A strftime pattern (``%Y-%m-%d``) as a Spark datetime pattern; Spark patterns pass through."""
    if "%" not in pattern:
        return pattern
    out, i = [], 0
    while i < len(pattern):
        token = pattern[i : i + 2]
        if token in _STRFTIME:
            out.append(_STRFTIME[token])
            i += 2
            continue
        ch = pattern[i]
        out.append(f"'{ch}'" if ch.isalpha() else ("''" if ch == "'" else ch))
        i += 1
    return "".join(out)


def logical_type(dtype: Any) -> str:
    """Spark DataType → odibi logical type."""
    from pyspark.sql import types as T

    if isinstance(dtype, T.ByteType | T.ShortType | T.IntegerType | T.LongType):
        return "int"
    if isinstance(dtype, T.FloatType | T.DoubleType):
        return "float"
    if isinstance(dtype, T.DecimalType):
        return "decimal"
    if isinstance(dtype, T.StringType | T.VarcharType | T.CharType):
        return "string"
    if isinstance(dtype, T.BooleanType):
        return "bool"
    if isinstance(dtype, T.DateType):
        return "date"
    if isinstance(dtype, T.TimestampType | T.TimestampNTZType):
        return "timestamp"
    return dtype.simpleString()


def _translate(
    fmt: str, options: dict[str, Any], table: dict[str, str | None], *, write: bool = False
) -> tuple[dict, dict]:
    """(Spark options, canonical options the engine handles itself)."""
    try:
        canon = normalise_write(fmt, options) if write else normalise(fmt, options)
    except OptionError as exc:
        raise NodeExecutionError(str(exc)) from None
    spark, own = {}, {}
    for key, value in canon.items():
        if key not in table:
            raise NodeExecutionError(f"{fmt} option '{key}' is not supported by the spark engine")
        target = table[key]
        if target is None:
            own[key] = value
            continue
        if key in ("date_format", "timestamp_format"):
            value = java_pattern(str(value))
        if isinstance(value, bool):
            value = "true" if value else "false"
        spark[target] = str(value) if not isinstance(value, str) else value
    return spark, own


class SparkEngine:
    """Runs nodes as Spark DataFrames in one Spark session (reused when one is active).

    Several threads may use one engine at once (``Capability.CONCURRENT``): a session takes jobs from
    every thread and its temp views are the session's; the engine's own bookkeeping is per relation,
    except the views still to be named, which one thread at a time creates.
    """

    name = "spark"
    dialect = "spark"
    capabilities = frozenset(
        {
            Capability.ATOMIC_OVERWRITE,
            Capability.APPEND,
            Capability.PYTHON_PANDAS_UDF,
            Capability.REMOTE_STORAGE,
            Capability.CONCURRENT,
        }
    )
    # a node stacked deeper than this on unmaterialized views is materialized, its lineage cut (the
    # runner decides; see _checkpoint): Spark re-analyses a view's whole plan in each consumer
    max_view_depth = 4

    def __init__(
        self,
        *,
        session: Any = None,
        master: str | None = None,
        remote: str | None = None,
        app_name: str = "odibi",
        conf: dict[str, Any] | None = None,
        stop_session: bool = False,
    ) -> None:
        """The keywords are :class:`odibi.config.models.SparkOptions` (``engine_options.spark``).

        ``session``: use this session as it is. ``remote``: a Spark Connect URL (``sc://host:15002``); the
        client session is shared per URL in this process and never stopped by ``close()``.
        ``stop_session=True``: a session of this engine's own, stopped (Connect: released) by ``close()``.
        """
        _require_pyspark()
        if master and remote:
            raise EngineError(
                "spark options 'master' and 'remote' exclude each other: a Spark Connect server has its own master",
                hint="keep 'remote' to run on a Spark Connect server, or 'master' for a session in this process",
            )
        self._owned = False
        if session is not None:
            self.spark = session
        elif remote:
            if stop_session:
                self.spark = build_remote_session(remote, app_name)
                self._owned = True
                _apply_conf(self.spark, remote, conf)
            else:
                self.spark = remote_session(remote, conf, app_name)
        elif stop_session:
            from pyspark.sql import SparkSession

            active = SparkSession.getActiveSession()
            self.spark = active if active is not None else build_session(master, conf, app_name)
            self._owned = active is None
        else:
            self.spark = shared_session(master, conf, app_name)
        self._views: dict[str, Any] = {}  # relation → DataFrame (what this engine registered)
        self._unnamed: dict[str, Any] = {}  # registered relations whose temp view is not created yet
        self._cached: list[Any] = []
        self._bad_lines: dict[str, int] = {}  # read relation → malformed rows skipped (on_bad_lines: skip)
        self._jdbc_drivers: dict[str, bool] = {}  # JDBC driver class → on the classpath
        self._ibis = None
        # held while temp views are created (and the Ibis backend made): a thread about to run SQL waits
        # until every relation registered so far has its view, even one another thread is naming
        self._naming = threading.Lock()

    # -- reads -----------------------------------------------------------------------------------
    def read(self, spec: ReadSpec):
        """The data at ``spec`` as a DataFrame (CSV and JSON: parsed once, cached, malformed rows refused
        or dropped)."""
        return self._read(spec)[0]

    def _read(self, spec: ReadSpec) -> tuple[Any, int]:
        """(the DataFrame, malformed rows skipped)."""
        malformed.check_source(spec.uri, spec.format)
        if spec.format == "csv":
            skip = normalise("csv", spec.options).get("on_bad_lines") == "skip"
            return self._checked(self._read_csv(spec), spec, skip)
        if spec.format == "parquet":
            opts, own = _translate("parquet", spec.options, _PARQUET_READ)
            reader = self.spark.read.options(**opts)
            if own.get("hive_partitioning") is False:
                reader = reader.option("basePath", spec.uri) if Path(spec.uri).is_dir() else reader
            return reader.parquet(spec.uri), 0
        if spec.format == "delta":
            canon = normalise("delta", spec.options)
            reader = self.spark.read.format("delta")
            if "version" in canon:
                reader = reader.option("versionAsOf", str(canon["version"]))
            if "timestamp" in canon:
                reader = reader.option("timestampAsOf", str(canon["timestamp"]))
            try:
                return reader.load(spark_location(spec.uri)), 0
            except Exception as exc:
                raise _delta_error(exc) from None
        if spec.format == "json":
            opts, own = _translate("json", spec.options, _JSON_READ)
            lines = own.get("lines")
            if lines is False or (lines is None and malformed.json_array(spec.uri)):
                opts["multiLine"] = "true"  # a JSON array, as DuckDB and pandas detect it
            opts["columnNameOfCorruptRecord"] = _CORRUPT
            df, skipped = self._checked(self.spark.read.options(**opts).json(spec.uri), spec, False)
            return _json_temporal(df, spec), skipped
        raise NodeExecutionError(f"the spark engine cannot read format '{spec.format}' yet")

    def _checked(self, df, spec: ReadSpec, skip: bool) -> tuple[Any, int]:
        """``df`` (read PERMISSIVE, malformed records in :data:`_CORRUPT`) cached, with its malformed rows
        refused, or dropped and counted.

        Spark's readers keep a malformed record (CSV: too few or too many fields, or a value that does not
        parse as its column's type; JSON: a record that does not parse) as NULLs plus its text; FAILFAST
        would say no more than the text, and DROPMALFORMED would not say how many it dropped. Spark gives
        no line numbers: the record's text is looked up in the file. The parse runs here, once (the cache
        then serves every later query), so a malformed file fails the read, not a later write.
        """
        df = self._cache(df)
        if _CORRUPT not in df.columns:  # JSON: Spark adds the column only when a record is malformed
            return df, 0
        from pyspark.sql import types as T

        F = _functions(df)
        c = F.col(quote_ident(_CORRUPT))
        canon = normalise(spec.format, spec.options)
        quote = str(canon.get("quote", '"')) if spec.format == "csv" else ""
        encoding = str(canon.get("encoding", "utf-8"))
        # Spark reads bytes that are not UTF-8 as U+FFFD, without a word: look for it (a file that holds
        # U+FFFD itself is told apart by decoding the line in Python)
        strings = [
            F.col(quote_ident(f.name)) for f in df.schema.fields if isinstance(f.dataType, T.StringType)
        ]
        replaced = (
            F.concat_ws("", *strings).contains("\ufffd")
            if spec.format == "csv" and strings and malformed.is_utf8(encoding)
            else F.lit(False)
        )
        odd = (
            (F.length(c) - F.length(F.regexp_replace(c, re.escape(quote), ""))) % 2 == 1
            if quote
            else F.lit(False)
        )
        try:
            row = df.agg(
                F.count(c).alias("bad"),
                F.first(c, ignorenulls=True).alias("record"),
                F.first(F.when(odd, c), ignorenulls=True).alias("unquoted"),
                F.max(replaced.cast("int")).alias("replaced"),
            ).collect()[0]
        except Exception as exc:
            raise NodeExecutionError(f"cannot read {spec.uri}: {spark_cause(exc)}") from None
        wrong = malformed.undecodable(spec.uri, encoding) if row["replaced"] else None
        if wrong is not None:
            raise malformed.error(wrong)
        bad = int(row["bad"] or 0)
        if bad and (not skip or row["unquoted"] is not None):
            raise self._malformed(spec, row["record"] if not skip else row["unquoted"])
        if bad:
            malformed.report_skipped(spec.uri, bad)
            df = df.where(c.isNull())
        return df.drop(_CORRUPT), bad

    def _malformed(self, spec: ReadSpec, record: str) -> NodeExecutionError:
        encoding = str(normalise(spec.format, spec.options).get("encoding", "utf-8"))
        if spec.format == "json":
            return malformed.json_error(spec.uri, "Malformed JSON record", encoding)
        found = malformed.locate_record(spec.uri, record, encoding)
        path, line = found if found is not None else (spec.uri, None)
        quote = str(normalise("csv", spec.options).get("quote", '"'))
        unquoted = bool(quote) and record.count(quote) % 2 == 1
        explanation = "Malformed CSV record" + (" (unterminated quote)" if unquoted else "")
        # Spark reads a CSV record per line (multiLine is off: files stay splittable)
        hint = malformed.QUOTE_HINT + "; Spark reads one CSV record per line" if unquoted else None
        return malformed.error(
            malformed.BadLine(path, line, explanation, record, "quote" if unquoted else "row", hint)
        )

    def bad_lines(self, relation: str) -> int:
        """Malformed rows the read of ``relation`` skipped (``on_bad_lines: skip``); 0 otherwise."""
        return self._bad_lines.get(relation, 0)

    def _read_csv(self, spec: ReadSpec):
        from pyspark.sql import types as T

        opts, own = _translate("csv", spec.options, _CSV_READ)
        opts = {"header": "true", "escape": '"', **opts}
        if "encoding" in opts:
            opts["encoding"] = _charset(opts["encoding"])
        # malformed rows are kept as text and judged by _checked (on_bad_lines)
        opts.update(mode="PERMISSIVE", columnNameOfCorruptRecord=_CORRUPT)
        corrupt = T.StructField(_CORRUPT, T.StringType())
        if own.get("compression") not in (None, "auto", "infer"):
            opts["compression"] = str(own["compression"])
        infer = own.get("infer_schema", True) is not False
        opts["inferSchema"] = "true" if infer else "false"
        skip = int(own.get("skip_rows") or 0)

        def load(schema=None):
            reader = self.spark.read.options(**opts)
            if schema is not None:
                reader = reader.schema(schema)
            if skip:
                if is_connect(self.spark):
                    raise NodeExecutionError(
                        "csv option 'skip_rows' is not supported on Spark Connect yet (it needs the RDD API)",
                        hint="use 'comment' to skip marked lines, or run on a local session",
                    )
                lines = self.spark.sparkContext.textFile(spec.uri).zipWithIndex()
                lines = lines.filter(lambda pair: pair[1] >= skip).map(lambda pair: pair[0])
                return reader.csv(lines)
            return reader.csv(spec.uri)

        types = own.get("types") or {}
        if types and not isinstance(types, dict):
            raise NodeExecutionError("csv option 'types' must map column names to types on the spark engine")
        if spec.schema is not None:
            # odibi decided the columns and their types once (odibi.formats.csv_infer): read exactly those
            fields = [
                T.StructField(name, _schema_type(name, typ, types, self.spark))
                for name, typ in spec.schema.items()
            ]
            opts["inferSchema"] = "false"
            opts["enforceSchema"] = "true"
            df = load(T.StructType([*fields, corrupt]))
            # a hive folder's partition columns come last in folder order: put them in the decided order
            order = [*spec.schema, _CORRUPT]
            return df if df.columns == order else df.select(*[quote_ident(c) for c in order])
        df = load()
        if infer:
            # DuckDB infers 64-bit integers: "int" is BIGINT on every engine
            fields = [
                T.StructField(f.name, T.LongType() if isinstance(f.dataType, T.IntegerType) else f.dataType)
                for f in df.schema.fields
            ]
        else:
            fields = list(df.schema.fields)
        names = own.get("names")
        if names:
            names = list(names)
            fields = [
                T.StructField(names[i] if i < len(names) else f.name, f.dataType)
                for i, f in enumerate(fields)
            ]
        if types:
            known = {f.name for f in fields}
            unknown = [c for c in types if c not in known]
            if unknown:
                raise NodeExecutionError(f"csv option 'types' names unknown column(s): {', '.join(unknown)}")
            fields = [
                T.StructField(f.name, _spark_type(types[f.name], self.spark)) if f.name in types else f
                for f in fields
            ]
        # read again with the decided schema (no job until the data is needed), so Spark parses each
        # column as its final type and keeps malformed records
        opts["inferSchema"] = "false"
        opts["enforceSchema"] = "true"
        return load(T.StructType([*fields, corrupt]))

    def register_read(self, relation: str, spec: ReadSpec) -> None:
        # CSV and JSON come back cached (re-parsing text is the expensive part: read it once)
        df, self._bad_lines[relation] = self._read(spec)
        self._register(relation, df)

    # -- relational work -------------------------------------------------------------------------
    def _register(self, relation: str, df) -> None:
        # the temp view (~15 ms) waits until SQL may name the relation: a node only written never needs it
        self._views[relation] = df
        self._unnamed[relation] = df

    def _name_views(self) -> None:
        """Create the temp views SQL is about to need (every registered relation gets its view).

        Under the lock, so no thread runs SQL while another is still naming a relation that SQL needs;
        entries are taken one at a time (never iterated over, nor cleared wholesale), as other threads may
        register relations meanwhile."""
        with self._naming:
            while self._unnamed:
                relation, df = self._unnamed.popitem()
                try:
                    df.createOrReplaceTempView(relation)
                except BaseException:
                    self._unnamed.setdefault(relation, df)  # named by a later call, unless replaced since
                    raise

    def _cache(self, df):
        df = df.cache()
        self._cached.append(df)
        return df

    def _checkpoint(self, df):
        """Compute ``df`` now and cut its lineage: later plans start from its stored rows.

        ``cache()`` alone keeps the logical plan, and Spark analyses every consumer's plan in full before
        it finds the cached part; down a stack of views that read a node twice (a join to an earlier
        node), the plan doubles at each such level and 100 nodes never finish analysing.
        ``localCheckpoint`` stores the rows on the executors (as cache does) under a plan of one scan.
        """
        df = df.localCheckpoint(eager=True)
        self._cached.append(df)
        return df

    def define(self, relation: str, sql: str, *, materialize: bool) -> None:
        self._name_views()
        df = self.spark.sql(sql)
        if materialize:
            df = self._checkpoint(df)
        self._register(relation, df)

    def alias(self, relation: str, source: str, *, materialize: bool) -> None:
        self.define(relation, f"SELECT * FROM {quote_ident(source)}", materialize=materialize)

    def to_pandas(self, relation: str):
        """The relation collected to the driver as pandas (pandas function steps, opted in), typed as the
        pandas engine types its frames."""
        df = self.dataframe(relation)
        if hasattr(df, "toArrow"):  # pyspark >= 4.0
            from odibi.engines.arrow_frames import to_pandas

            return to_pandas(df.toArrow())
        return df.toPandas()

    def from_pandas(self, relation: str, frame) -> None:
        """Register a function step's DataFrame under ``relation``."""
        import pandas as pd

        if not isinstance(frame, pd.DataFrame):
            raise NodeExecutionError(f"expected a pandas DataFrame, got {type(frame).__name__}")
        from odibi.engines.arrow_frames import to_arrow

        # through Arrow, like the other engines: NaN in a text column is NULL (not the string 'NaN'),
        # and column types come from the frame's dtypes rather than from sampled values
        self._register(relation, self._cache(self.spark.createDataFrame(to_arrow(frame))))

    # -- databases over JDBC (the executors read and write; rows never pass through the driver) --------
    def jdbc_driver(self, driver: str) -> bool:
        """Whether the JDBC driver class ``driver`` is on the session's classpath. A Spark Connect
        session cannot be asked: its server brings its own drivers (Databricks has the usual ones)."""
        if is_connect(self.spark):
            return True
        known = self._jdbc_drivers.get(driver)
        if known is None:
            try:
                self.spark.sparkContext._jvm.org.apache.spark.util.Utils.classForName(driver, True, False)
                known = True
            except Exception:  # Py4JJavaError: ClassNotFoundException
                known = False
            self._jdbc_drivers[driver] = known
        return known

    def read_jdbc(self, relation: str, target, *, table: str | None = None, query: str | None = None) -> None:
        """A database table or query (``target``: a :class:`~odibi.connections.sql.JdbcTarget`), read
        once by the executors and kept (counted, then used downstream)."""
        reader = self.spark.read.format("jdbc").options(**target.options())
        reader = reader.option("dbtable", table) if table is not None else reader.option("query", query)
        self._register(relation, self._cache(reader.load()))

    def write_jdbc(self, relation: str, target, table: str) -> int:
        """Write the relation to a new table ``table`` (a staging table the connection publishes)."""
        df = self.dataframe(relation)
        writer = df.write.format("jdbc").options(**target.options()).option("dbtable", table)
        writer.mode("errorifexists").save()
        return self.count(relation)

    def dataframe(self, relation: str):
        """The relation as a Spark DataFrame."""
        df = self._views.get(relation)
        if df is not None:
            return df
        self._name_views()
        return self.spark.table(quote_ident(relation))

    def table(self, relation: str):
        """The relation as an Ibis table expression (Ibis' pyspark backend, connected on first use)."""
        if self._ibis is None:
            with self._naming:
                if self._ibis is None:
                    import ibis

                    self._ibis = ibis.pyspark.connect(self.spark)
        self._name_views()
        return self._ibis.table(relation)

    def columns(self, relation: str) -> dict[str, str]:
        return {f.name: logical_type(f.dataType) for f in self.dataframe(relation).schema.fields}

    def scalar(self, sql: str) -> Any:
        self._name_views()
        rows = self.spark.sql(sql).take(1)
        return rows[0][0] if rows else None

    def count(self, relation: str) -> int:
        return int(self.dataframe(relation).count())

    def fingerprint(self, relation: str) -> str:
        """Row count and an order-independent hash of the rows (``xxhash64`` of each row, summed)."""
        df = self.dataframe(relation)
        F = _functions(df)
        if not df.columns:
            return f"spark:{df.count()}:0"
        row = df.select(
            F.count(F.lit(1)).alias("n"),
            F.sum(F.xxhash64(*[F.col(quote_ident(c)) for c in df.columns]).cast("decimal(38,0)")).alias("h"),
        ).collect()[0]
        return f"spark:{row['n']}:{row['h'] or 0}"

    def sample(self, relation: str, n: int) -> list[dict[str, Any]]:
        return [row.asDict(recursive=True) for row in self.dataframe(relation).limit(n).collect()]

    # -- connections -----------------------------------------------------------------------------
    def use_connection(self, connection) -> None:
        """Give the session a remote connection's settings (``fs.azure.account.*``, ``fs.s3a.bucket.*``,
        ``fs.gs.*``): session settings reach the Hadoop configuration of every DataFrame read and write,
        on a local session, on Databricks and over Spark Connect alike. Several accounts and buckets live
        side by side because every key names its account or bucket."""
        for key, value in connection.spark_conf().items():
            self.spark.conf.set(key, value)

    # -- writes ----------------------------------------------------------------------------------
    def write(self, relation: str, spec: WriteSpec) -> int | None:
        if spec.format == "delta":
            return self._write_delta(relation, spec)
        if spec.format not in ("csv", "parquet", "json"):
            raise NodeExecutionError(f"the spark engine cannot write format '{spec.format}' yet")
        staged = stage(spec)
        if staged.skip:
            return None
        df = self.dataframe(relation)
        if staged.appends_to_file:
            back = ReadSpec(staged.previous, spec.format, _read_back_options(spec))
            if spec.format == "csv":  # read the old rows with the types odibi decides for CSV
                from odibi.formats.csv_infer import with_inferred_schema

                back = with_inferred_schema(back)
            existing = self.read(back)
            df = existing.unionByName(df, allowMissingColumns=True)
        df, opts = self._prepare(df, spec)
        if spec.partition_by:
            return self._write_partitioned(df, opts, staged, spec)
        # a parquet file says how many rows it holds; text outputs are counted as they are written.
        # observe last: on Spark Connect, asking an observed DataFrame for its schema before the write
        # loses the observed metrics (seen with 4.0.5)
        observed_df, observed = (df, None) if spec.format == "parquet" else _observe_count(df)
        scratch = staged.staging.with_name(staged.staging.name + ".spark")
        try:
            observed_df.coalesce(1).write.options(**opts).mode("overwrite").format(spec.format).save(
                str(scratch)
            )
            _single_file(scratch, staged.staging, spec, df)
            rows = observed() if observed is not None else _parquet_rows(staged.staging)
            staged.commit()
        except BaseException:
            staged.abort()
            raise
        finally:
            shutil.rmtree(scratch, ignore_errors=True)
        return rows

    def _write_delta(self, relation: str, spec: WriteSpec) -> int | None:
        """Delta through the session's Delta Lake (Databricks has it; a local session needs delta-spark's
        jars, which odibi cannot download): overwrite / append / error / ignore by the DataFrame writer,
        upsert / append_once by ``delta.tables.DeltaTable.merge``."""
        from odibi.formats.delta import spark_target

        location, exists = spark_target(spec)  # a store's table: its abfss:// / s3a:// / gs:// URI
        df = self.dataframe(relation)
        canon = normalise_write("delta", spec.options)
        try:
            if spec.mode in ("upsert", "append_once") and exists:
                from delta.tables import DeltaTable

                match = " AND ".join(f"t.`{k}` <=> s.`{k}`" for k in spec.keys)
                merger = (
                    DeltaTable.forPath(self.spark, location)
                    .alias("t")
                    .merge(df.alias("s"), match)
                )
                if spec.mode == "upsert":
                    merger = merger.whenMatchedUpdateAll()
                merger.whenNotMatchedInsertAll().execute()
                return None
            mode = {"upsert": "append", "append_once": "append"}.get(spec.mode, spec.mode)
            writer = df.write.format("delta").mode("errorifexists" if mode == "error" else mode)
            if spec.partition_by:
                writer = writer.partitionBy(*spec.partition_by)
            if canon.get("merge_schema"):
                writer = writer.option("mergeSchema", "true")
            writer.save(location)
        except ImportError:
            raise EngineError(
                "delta upsert / append_once on Spark need the Python package 'delta-spark' (delta.tables)",
                hint="on Databricks it is there; elsewhere: pip install delta-spark matching your Spark",
            ) from None
        except Exception as exc:
            raise _delta_error(exc) from None
        return None

    def _write_partitioned(self, df, opts: dict[str, str], staged, spec: WriteSpec) -> int | None:
        """A hive-partitioned parquet or CSV folder: Spark's own layout (``col=value/part-*``) in the
        staged folder, without Spark's ``_SUCCESS`` and checksum files, marked as odibi's and committed
        (CSV: ``opts`` write the text the DuckDB engine writes, header included)."""
        observed_df, observed = _observe_count(df)
        try:
            observed_df.write.options(**opts).partitionBy(*spec.partition_by).mode("overwrite").format(
                spec.format
            ).save(str(staged.staging))
            for extra in [*staged.staging.rglob("*.crc"), *staged.staging.rglob("_SUCCESS")]:
                extra.unlink(missing_ok=True)
            mark_output(staged.staging)
            rows = observed()
            staged.commit()
        except BaseException:
            staged.abort()
            raise
        return rows

    def _prepare(self, df, spec: WriteSpec):
        """The DataFrame to write (text forms DuckDB writes) and the writer options."""
        if spec.format == "csv":
            opts, _ = _translate("csv", spec.options, _CSV_WRITE, write=True)
            opts = {
                "header": "true", "escape": '"', "dateFormat": _DATE_TEXT, "timestampFormat": _TS_TEXT,
                "ignoreLeadingWhiteSpace": "false", "ignoreTrailingWhiteSpace": "false", **opts,
            }  # fmt: skip
            if "timestampFormat" not in _explicit(spec, "timestamp_format", "csv"):
                df = _timestamps_as_text(df)
        elif spec.format == "json":
            opts, _ = _translate("json", spec.options, _JSON_WRITE, write=True)
            opts = {
                "ignoreNullFields": "false",
                "dateFormat": _DATE_TEXT,
                "timestampFormat": _TS_TEXT,
                **opts,
            }
            if "timestampFormat" not in _explicit(spec, "timestamp_format", "json"):
                df = _timestamps_as_text(df)
            df = _decimals_as_doubles(df)
        else:
            opts, _ = _translate("parquet", spec.options, _PARQUET_WRITE, write=True)
        return df, opts

    def close(self) -> None:
        if self._views and _alive(self.spark):
            for relation in self._views:
                with contextlib.suppress(Exception):
                    self.spark.catalog.dropTempView(relation)  # False, not an error, when it is gone
        for df in self._cached:
            with contextlib.suppress(Exception):
                df.unpersist()
        self._views.clear()
        self._unnamed.clear()
        self._cached.clear()
        if self._owned:
            with contextlib.suppress(Exception):
                if is_connect(self.spark):
                    _release(self.spark)  # not stop(): it shuts pyspark's pool every Connect session shares
                else:
                    self.spark.stop()


# Python's codec names → the charsets Spark's text readers accept
_CHARSETS = {"iso8859-1": "iso-8859-1", "ascii": "us-ascii", "utf-8": "utf-8", "utf-16": "utf-16",
             "utf-16-be": "utf-16be", "utf-16-le": "utf-16le", "utf-32": "utf-32"}  # fmt: skip


def _charset(name: str) -> str:
    """An encoding as users write it for pandas or DuckDB (``latin-1``), in Spark's spelling."""
    import codecs

    try:
        return _CHARSETS.get(codecs.lookup(name).name, name)
    except LookupError:
        return name


def spark_cause(exc: BaseException) -> str:
    """The useful line of a Spark error: its deepest cause, without Java class names or stack frames."""
    lines = [line.strip() for line in str(exc).splitlines()]
    lines = [line for line in lines if line and not line.startswith(("at ", "..."))]
    causes = [line.split("Caused by: ", 1)[1] for line in lines if line.startswith("Caused by: ")]
    text = causes[-1] if causes else next((line[2:] for line in lines if line.startswith(": ")), "")
    text = text or (lines[0] if lines else type(exc).__name__)
    text = re.sub(r"^(?:[\w$]+\.)+[\w$]+: ", "", text)
    return re.sub(r"\s*SQLSTATE: \w+\s*$", "", text)


def _decimals_as_doubles(df):
    """JSON numbers from decimals as DuckDB writes them (3.0, not Spark's 3.00)."""
    from pyspark.sql import types as T

    F = _functions(df)

    if not any(isinstance(f.dataType, T.DecimalType) for f in df.schema.fields):
        return df
    return df.select(
        *[
            F.col(quote_ident(f.name)).cast("double").alias(f.name)
            if isinstance(f.dataType, T.DecimalType)
            else F.col(quote_ident(f.name))
            for f in df.schema.fields
        ]
    )


def _json_temporal(df, spec: ReadSpec):
    """Dates and timestamps in JSON text, as the DuckDB engine reads them (Spark's inference keeps strings).

    DuckDB's sniffer decides (odibi's one inferrer); string columns it reads as date or timestamp are cast.
    """
    from pyspark.sql import types as T

    F = _functions(df)

    strings = [f.name for f in df.schema.fields if isinstance(f.dataType, T.StringType)]
    if not strings or not Path(spec.uri).is_file():
        return df
    try:
        from odibi.formats.csv_infer import sniff_schema

        decided = sniff_schema(ReadSpec(spec.uri, "json", {}))
    except Exception:  # DuckDB cannot read it the same way: keep Spark's reading
        return df
    target = {"date": "date", "timestamp": "timestamp_ntz"}
    casts = {c: target[decided[c]] for c in strings if decided.get(c) in target}
    if not casts:
        return df
    return df.select(
        *[
            F.col(quote_ident(c)).cast(casts[c]).alias(c) if c in casts else F.col(quote_ident(c))
            for c in df.columns
        ]
    )


def _spark_type(t: Any, session: Any = None):
    """A type name as a Spark DataType (parsed by ``session``'s Spark: a Connect one asks its server)."""
    from pyspark.sql import types as T

    name = _TYPES.get(str(t).lower(), str(t))
    try:
        if session is not None and is_connect(session):
            return session._parse_ddl(name)
        return T._parse_datatype_string(name)
    except Exception:
        raise NodeExecutionError(f"unknown column type '{t}' in csv option 'types'") from None


_LOGICAL = {"int": "bigint", "float": "double", "string": "string", "bool": "boolean", "date": "date",
            "timestamp": "timestamp_ntz", "timestamp_tz": "timestamp_ltz", "decimal": "decimal(38,10)"}  # fmt: skip


def _schema_type(name: str, logical: str, types: dict[str, Any], session: Any = None):
    """The Spark type for a decided logical column type (a user's exact type wins, e.g. decimal(10,2))."""
    if name in types:
        return _spark_type(types[name], session)
    return _spark_type(_LOGICAL.get(logical, "string"), session)


def _explicit(spec: WriteSpec, key: str, fmt: str) -> set[str]:
    try:
        canon = normalise(fmt, spec.options)
    except OptionError:
        return set()
    return {"timestampFormat"} if key in canon else set()


def _timestamps_as_text(df):
    """Timestamps as DuckDB writes them: ``2024-01-02 03:04:05`` plus the fraction without trailing zeros."""
    from pyspark.sql import types as T

    F = _functions(df)

    cols = []
    changed = False
    for f in df.schema.fields:
        c = F.col(quote_ident(f.name))
        if isinstance(f.dataType, T.TimestampType | T.TimestampNTZType):
            micros = F.date_format(c, "yyyy-MM-dd HH:mm:ss.SSSSSS")
            text = F.regexp_replace(F.regexp_replace(micros, "0+$", ""), r"\.$", "")
            cols.append(text.alias(f.name))
            changed = True
        else:
            cols.append(c)
    return df.select(*cols) if changed else df


def _observe_count(df):
    """Count the rows as they are written (no second pass); returns (df, a getter for the count)."""
    try:
        if is_connect(df):
            from pyspark.sql.connect.observation import Observation
        else:
            from pyspark.sql import Observation
        F = _functions(df)
        obs = Observation(f"odibi_{uuid.uuid4().hex[:8]}")
        observed = df.observe(obs, F.count(F.lit(1)).alias("rows"))
    except Exception:
        return df, lambda: None

    def get() -> int | None:
        try:
            value = obs.get.get("rows")
        except Exception:
            return None
        return int(value) if value is not None else None

    return observed, get


def _parquet_rows(path: Path) -> int | None:
    """Rows in a parquet file, from its footer (no data read)."""
    import pyarrow.parquet as pq

    try:
        return pq.read_metadata(path).num_rows
    except Exception:
        return 0 if path.exists() and path.stat().st_size == 0 else None


def spark_location(uri: str) -> str:
    """A location as Spark reads it (local paths as they are; URIs are given by the connection)."""
    return uri


def _delta_error(exc: Exception):
    """A Spark error about Delta as odibi's: a session without Delta Lake says how to get it."""
    text = str(exc)
    if "delta" in text.lower() and (
        "DATA_SOURCE_NOT_FOUND" in text or "Failed to find the data source" in text
    ):
        return EngineError(
            "this Spark session has no Delta Lake (the 'delta' data source is not on its classpath)",
            hint="Databricks sessions have it; a local session needs delta-spark's jars "
            "(spark.jars.packages io.delta:delta-spark_2.13:<version>) or the duckdb / pandas engine",
        )
    return exc


def _single_file(scratch: Path, staging: Path, spec: WriteSpec, df) -> None:
    """Move the one part file Spark wrote to ``staging`` (a file), or create an empty output."""
    parts = sorted(p for p in scratch.iterdir() if p.name.startswith("part-") and not p.name.endswith(".crc"))
    parts = [p for p in parts if p.stat().st_size > 0] or parts[:1]
    if len(parts) > 1:
        raise NodeExecutionError(f"spark wrote {len(parts)} files where one was expected")
    if parts:
        os.replace(parts[0], staging)
        if spec.format == "csv" and staging.stat().st_size == 0:
            _write_header(staging, spec, df)
        return
    if spec.format == "csv":
        _write_header(staging, spec, df)
    else:
        staging.write_bytes(b"")


def _write_header(path: Path, spec: WriteSpec, df) -> None:
    """An empty result as CSV: the header line alone (as the DuckDB engine writes it)."""
    canon = normalise("csv", spec.options)
    if canon.get("header", True) is False:
        path.write_text("", encoding="utf-8")
        return
    sep = str(canon.get("delimiter", ","))
    path.write_text(sep.join(df.columns) + "\n", encoding="utf-8")


def _read_back_options(spec: WriteSpec) -> dict[str, Any]:
    """Options to read an existing output the way it was written (for append)."""
    keep = {"sep", "delimiter", "delim", "quote", "escape", "header", "compression", "lines"}
    return {k: v for k, v in spec.options.items() if str(k).lower() in keep}


__all__ = [
    "SparkEngine",
    "build_remote_session",
    "build_session",
    "is_connect",
    "logical_type",
    "remote_session",
    "shared_session",
    "stop_remote_sessions",
]
