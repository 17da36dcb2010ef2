"""A hand-made story for renderer tests: three nodes (one failed, one skipped), checks, a sample with
hostile text, a comparison. Real runs' stories are tested in test_story_runs.py."""

from __future__ import annotations

from odibi.story.model import (
    CheckOutcome,
    Column,
    Comparison,
    Edge,
    FailureInfo,
    NodeDelta,
    NodeStory,
    Retyped,
    Sample,
    SchemaChanges,
    Story,
    Totals,
    WriteInfo,
)

HOSTILE = ["<script>alert(1)</script>", '"><img src=x onerror=alert(1)>', "</script>"]


def sample_story() -> Story:
    raw = NodeStory(
        pipeline="bronze",
        name="raw_sales",
        status="success",
        source="data:sales.csv",
        duration_s=0.12,
        attempts=1,
        rows_in=4,
        rows_out=4,
        columns=[Column(name="id", type="integer"), Column(name=HOSTILE[0], type="string")],
        sample=Sample(columns=["id", HOSTILE[0]], rows=[[1, HOSTILE[1]], [2, HOSTILE[2]], [3, None]]),
        started_at="2026-12-02T10:00:00.100Z",
        ended_at="2026-12-02T10:00:00.220Z",
    )
    clean = NodeStory(
        pipeline="bronze",
        name="clean_sales",
        status="failed",
        inputs=["raw_sales"],
        duration_s=0.05,
        attempts=2,
        rows_in=4,
        sql="SELECT id, UPPER(name) AS name FROM raw_sales WHERE amount > 0",
        schema_changes=SchemaChanges(
            against=["raw_sales"],
            added=["name"],
            removed=[HOSTILE[0]],
            retyped=[Retyped(name="id", before="integer", after="string")],
        ),
        checks=[
            CheckOutcome(check="not_empty", status="passed"),
            CheckOutcome(check="no_nulls(email)", status="warned", failing_rows=100, message="100 rows"),
        ],
        failure=FailureInfo(
            kind="sql",
            stage="step 1",
            message='Binder Error: column "amount" not found',
            error_type="duckdb.BinderException",
            hint="columns: id, name",
            location="odibi.yaml:14:13",
        ),
        retries=[FailureInfo(kind="io", stage="read", message="connection reset", retryable=True)],
        started_at="2026-12-02T10:00:00.230Z",
        ended_at="2026-12-02T10:00:00.280Z",
    )
    gold = NodeStory(
        pipeline="bronze",
        name="gold_sales",
        status="skipped",
        inputs=["clean_sales"],
        reason="upstream node 'clean_sales' failed",
        writes=[
            WriteInfo(target="out:gold/sales.parquet", connection="out", format="parquet", mode="overwrite")
        ],
    )
    return Story(
        run_id="20261202T100000Z-abcd1234",
        project="Shop <b>sales</b>",
        pipelines=["bronze"],
        engine="duckdb",
        versions={"odibi": "0.5.0", "python": "3.11.7", "duckdb": "1.4.1"},
        config_file="odibi.yaml",
        config_hash="0123456789abcdef",
        started_at="2026-12-02T10:00:00.000Z",
        ended_at="2026-12-02T10:00:00.300Z",
        duration_s=0.3,
        status="failed",
        verbosity="normal",
        totals=Totals(nodes=3, success=1, failed=1, skipped=1, checks_warned=1),
        nodes=[raw, clean, gold],
        edges=[
            Edge(pipeline="bronze", source="raw_sales", target="clean_sales"),
            Edge(pipeline="bronze", source="clean_sales", target="gold_sales"),
        ],
        comparison=Comparison(
            base_run_id="20261201T100000Z-00000000",
            base_status="success",
            nodes=[
                NodeDelta(
                    pipeline="bronze",
                    name="raw_sales",
                    rows_before=3,
                    rows_after=4,
                    duration_before_s=0.1,
                    duration_after_s=0.12,
                    added=[HOSTILE[0]],
                )
            ],
            unchanged=2,
        ),
    )
