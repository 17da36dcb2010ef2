"""Stories of real runs on DuckDB: written after every run (a failing one too), valid against the
checked-in schema, masked, compared with the previous successful run, kept as configured."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import jsonschema
import pytest
from typer.testing import CliRunner

from odibi import api, secrets
from odibi.cli.app import app
from odibi.story.model import Story, story_schema
from odibi.story.store import StoryStore

ROOT = Path(__file__).resolve().parents[2]
SCHEMA = json.loads((ROOT / "schemas" / "story.schema.json").read_text(encoding="utf-8"))

PEOPLE = "id,name,email,amount\n1,Ann,ann@example.com,10\n2,Bob,bob@example.com,20\n3,Cyrus Hunter,cy@example.com,30\n"


def _project(folder: Path, *, story: str = "", clean_sql: str = "SELECT id, name, email, amount * 2 AS doubled FROM people",
             extra_nodes: str = "") -> Path:  # fmt: skip
    (folder / "data").mkdir(parents=True, exist_ok=True)
    (folder / "data" / "people.csv").write_text(PEOPLE, encoding="utf-8")
    cfg = folder / "odibi.yaml"
    cfg.write_text(
        textwrap.dedent(
            f"""\
            project: story test
            connections:
              data: {{type: local, base_path: ./data}}
              out: {{type: local, base_path: ./out}}
            {story}
            pipelines:
              - pipeline: main
                nodes:
                  - name: people
                    read: {{connection: data, path: people.csv}}
                    sensitive: [email]
                  - name: clean
                    depends_on: [people]
                    transform:
                      steps:
                        - {clean_sql}
                    write: {{connection: out, path: clean.parquet}}
                  - name: report
                    depends_on: [clean]
                    transform:
                      steps:
                        - SELECT count(*) AS n, sum(doubled) AS total FROM clean
                    write: {{connection: out, path: report.csv}}
            {extra_nodes}"""
        ),
        encoding="utf-8",
    )
    return cfg


def _stories(folder: Path, slug: str = "story-test") -> Path:
    return folder / ".odibi" / "stories" / slug


def test_a_successful_run_writes_json_md_and_html_that_validate(tmp_path):
    cfg = _project(tmp_path)
    result = api.run_project(cfg)
    assert result.ok and result.story_error is None
    assert set(result.story) == {"json", "md", "html"}
    files = sorted(p.name for p in _stories(tmp_path).iterdir())
    assert files == [f"{result.run_id}.{ext}" for ext in ("html", "json", "md")]
    data = json.loads((_stories(tmp_path) / f"{result.run_id}.json").read_text(encoding="utf-8"))
    jsonschema.validate(data, SCHEMA)
    story = Story.model_validate(data)
    assert story.status == "success" and story.run_id == result.run_id and story.engine == "duckdb"
    assert story.versions["duckdb"] and story.versions["sqlglot"] and story.versions["python"]
    clean = story.node("main.clean")
    assert clean.rows_out == 3 and clean.writes[0].target == "out:clean.parquet" and clean.writes[0].rows == 3
    assert [c.name for c in clean.columns] == ["id", "name", "email", "doubled"]
    assert clean.sql and "doubled" in clean.sql
    assert clean.schema_changes.added == ["doubled"] and clean.schema_changes.removed == ["amount"]
    assert clean.sample.source == "output" and len(clean.sample.rows) == 3
    report = story.node("report")
    assert report.sample.rows == [[3, 120]] and report.sample.source == "output"
    assert report.rows_in == 3 and report.rows_out == 1
    assert story.totals.success == 3 and story.totals.rows_written == 4
    assert [(e.source, e.target) for e in story.edges] == [("people", "clean"), ("clean", "report")]


def test_sensitive_columns_are_masked_in_every_node_and_secrets_never_appear(tmp_path):
    secrets.register("Cyrus Hunter")  # a value the project holds as a secret (say, from Key Vault)
    try:
        cfg = _project(tmp_path)
        result = api.run_project(cfg)
    finally:
        secrets.clear()
    text = "".join((_stories(tmp_path) / f"{result.run_id}.{ext}").read_text(encoding="utf-8")
                   for ext in ("json", "md", "html"))  # fmt: skip
    assert "ann@example.com" not in text and "bob@example.com" not in text
    assert "Cyrus Hunter" not in text and "Bob" in text
    story = Story.from_json((_stories(tmp_path) / f"{result.run_id}.json").read_text(encoding="utf-8"))
    for name in ("people", "clean"):
        sample = story.node(name).sample
        assert sample.masked == ["email"]
        position = sample.columns.index("email")
        assert {row[position] for row in sample.rows} == {"***"}


def test_a_node_marked_sensitive_true_has_no_sample(tmp_path):
    cfg = _project(tmp_path)
    cfg.write_text(cfg.read_text().replace("sensitive: [email]", "sensitive: true"), encoding="utf-8")
    result = api.run_project(cfg)
    story = StoryStore(api.load_project(cfg)).load(result.run_id)
    assert story.node("people").sample is None
    # every column of it is masked where it flows on
    assert set(story.node("clean").sample.masked) == {"id", "name", "email"}


def test_a_failing_run_writes_a_complete_story_naming_node_stage_error_and_location(tmp_path):
    cfg = _project(tmp_path, clean_sql="SELECT id, CAST(name AS INTEGER) AS doubled FROM people")
    runner = CliRunner()
    outcome = runner.invoke(app, ["run", str(cfg)])
    assert outcome.exit_code == 1, outcome.output
    assert "story: " in outcome.output
    [json_file] = list(_stories(tmp_path).glob("*.json"))
    data = json.loads(json_file.read_text(encoding="utf-8"))
    jsonschema.validate(data, SCHEMA)
    story = Story.model_validate(data)
    assert story.status == "failed"
    # people is a lazy view: it runs only inside clean, which failed, so it is not reported a success
    assert (story.totals.success, story.totals.failed, story.totals.skipped, story.totals.not_run) == (
        0,
        1,
        1,
        1,
    )
    assert story.node("people").reason
    clean = story.node("clean")
    assert clean.status == "failed"
    # the query is a view until its write runs it: DuckDB meets the bad value while writing
    assert clean.failure.stage in ("write", "transform", "step 1") and clean.failure.kind == "type"
    assert "Ann" in clean.failure.message  # the engine's conversion error names the value
    assert clean.failure.location
    file, line, col = clean.failure.location.rsplit(":", 2)
    assert file.endswith("odibi.yaml") and int(line) > 1 and int(col) >= 1
    report = story.node("report")
    assert report.status == "skipped" and "clean" in report.reason
    for ext in ("md", "html"):
        text = json_file.with_suffix(f".{ext}").read_text(encoding="utf-8")
        assert "Conversion Error" in text and clean.failure.location in text


def test_the_story_compares_with_the_previous_successful_run(tmp_path):
    cfg = _project(tmp_path)
    first = api.run_project(cfg)
    broken = api.run_project(
        _project(tmp_path, clean_sql="SELECT CAST(name AS INTEGER) AS doubled FROM people")
    )
    assert first.ok and not broken.ok
    third = api.run_project(
        _project(tmp_path, clean_sql="SELECT id, name, email, amount * 2 AS doubled, 1 AS flag FROM people")
    )
    story = StoryStore(api.load_project(cfg)).load("last")
    assert story.run_id == third.run_id
    assert story.comparison.base_run_id == first.run_id  # the failed run in between is not a baseline
    delta = {(d.pipeline, d.name): d for d in story.comparison.nodes}[("main", "clean")]
    assert delta.added == ["flag"]
    html = (_stories(tmp_path) / f"{third.run_id}.html").read_text(encoding="utf-8")
    assert first.run_id in html


def test_minimal_keeps_no_samples_and_detailed_counts_lazy_nodes(tmp_path):
    cfg = _project(tmp_path, story="story: {verbosity: minimal}")
    result = api.run_project(cfg)
    story = StoryStore(api.load_project(cfg)).load(result.run_id)
    assert story.verbosity == "minimal"
    assert all(n.sample is None for n in story.nodes) and story.node("clean").schema_changes is None
    assert story.node("clean").columns  # schemas are always kept
    cfg = _project(tmp_path, story="story: {verbosity: detailed, max_sample_rows: 2}")
    result = api.run_project(cfg)
    story = StoryStore(api.load_project(cfg)).load(result.run_id)
    people = story.node("people")
    assert people.lazy and people.rows_out == 3  # counted, though it ran only inside its consumer
    assert len(people.sample.rows) == 2


def test_stories_go_where_the_story_block_says_and_keep_last_prunes(tmp_path):
    cfg = _project(
        tmp_path, story="story: {connection: out, path: reports/, keep_last: 2, formats: [json, html]}"
    )
    runs = [api.run_project(cfg).run_id for _ in range(3)]
    folder = tmp_path / "out" / "reports" / "story-test"
    names = sorted(p.name for p in folder.iterdir())
    assert names == sorted(f"{r}.{ext}" for r in runs[1:] for ext in ("json", "html"))
    (folder / "notes.txt").write_text("mine", encoding="utf-8")  # not a story: never removed
    api.run_project(cfg)
    assert (folder / "notes.txt").read_text(encoding="utf-8") == "mine"


def test_no_story_when_turned_off(tmp_path):
    cfg = _project(tmp_path, story="story: {auto_generate: false}")
    result = api.run_project(cfg)
    assert result.ok and result.story == {} and not (tmp_path / ".odibi" / "stories").exists()
    cfg = _project(tmp_path)
    outcome = CliRunner().invoke(app, ["run", str(cfg), "--no-story"])
    assert outcome.exit_code == 0 and "story:" not in outcome.output
    assert not (tmp_path / ".odibi" / "stories").exists()


def test_a_story_that_cannot_be_written_is_reported_and_the_run_stands(tmp_path):
    cfg = _project(tmp_path, story="story: {connection: out, path: reports/}")
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "reports").write_text("a file where the story folder would be", encoding="utf-8")
    result = api.run_project(cfg)
    assert result.ok and result.story == {}
    assert result.story_error
    assert (tmp_path / "out" / "clean.parquet").exists()


def test_story_show_and_list_read_what_the_run_wrote(tmp_path):
    cfg = _project(tmp_path)
    result = api.run_project(cfg)
    runner = CliRunner()
    listed = runner.invoke(app, ["story", "list", str(cfg), "--format", "json"])
    assert listed.exit_code == 0, listed.output
    assert [e["run_id"] for e in json.loads(listed.output)] == [result.run_id]
    shown = runner.invoke(app, ["story", "show", "last", "--config", str(cfg), "--format", "json"])
    assert shown.exit_code == 0, shown.output
    assert Story.from_json(shown.output).run_id == result.run_id


def test_the_schema_file_is_current():
    assert json.loads(json.dumps(story_schema())) == SCHEMA, (
        'regenerate: python -c "import json; from odibi.story.model import story_schema; '
        "open('schemas/story.schema.json','w').write(json.dumps(story_schema(), indent=2)+'\\n')\""
    )


@pytest.mark.parametrize("engine", ["pandas", "spark"])
def test_other_engines_write_the_same_story_facts(tmp_path, engine):
    cfg = _project(tmp_path)
    result = api.run_project(cfg, engine=engine)
    story = StoryStore(api.load_project(cfg)).load(result.run_id)
    assert story.engine == engine and story.status == "success"
    assert story.node("report").sample.rows == [[3, 120]]
    assert story.node("clean").schema_changes.added == ["doubled"]


def test_stories_through_an_s3_connection(tmp_path, moto_s3, monkeypatch):
    """The story connection is a bucket (moto's S3 server): files are committed there, listed, pruned
    and read back by ``odibi story``; nothing of them stays on the local disk."""
    import uuid

    bucket = f"stories-{uuid.uuid4().hex[:10]}"
    moto_s3.make_bucket(bucket)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", moto_s3.access_key_id)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", moto_s3.secret_access_key)
    cfg = _project(tmp_path)
    text = cfg.read_text(encoding="utf-8").replace(
        "  out: {type: local, base_path: ./out}\n",
        "  out: {type: local, base_path: ./out}\n"
        f"  reports: {{type: s3, bucket: {bucket}, path_prefix: ops, region: us-east-1, "
        f"endpoint_url: '{moto_s3.endpoint_url}', access_key_id: '${{AWS_ACCESS_KEY_ID}}', "
        "secret_access_key: '${AWS_SECRET_ACCESS_KEY}'}\n",
    )
    text = text.replace(
        "pipelines:\n", "story: {connection: reports, path: stories/, keep_last: 2}\npipelines:\n", 1
    )
    cfg.write_text(text, encoding="utf-8")
    runs = [api.run_project(cfg) for _ in range(3)]
    assert all(r.ok and r.story_error is None for r in runs), [r.story_error for r in runs]
    assert runs[-1].story["html"].startswith(f"s3://{bucket}/ops/stories/story-test/")
    keys = sorted(o["Key"] for o in moto_s3.client().list_objects_v2(Bucket=bucket)["Contents"])
    assert keys == sorted(
        f"ops/stories/story-test/{r.run_id}.{ext}" for r in runs[1:] for ext in ("html", "json", "md")
    )
    assert not (tmp_path / ".odibi" / "stories").exists()
    story = StoryStore(api.load_project(cfg)).load("last")
    assert story.run_id == runs[-1].run_id and story.comparison.base_run_id == runs[1].run_id
    shown = CliRunner().invoke(app, ["story", "show", "last", "--config", str(cfg), "--format", "md"])
    assert shown.exit_code == 0, shown.output
    assert runs[-1].run_id in shown.output


def test_on_spark_normal_samples_only_what_costs_no_job_and_says_so(tmp_path):
    """On Spark a sample of a relation is a job; at ``normal`` the story samples what was written to a
    local file (read back in Python) and says which nodes it did not sample; ``detailed`` samples all."""
    cfg = _project(tmp_path)
    result = api.run_project(cfg, engine="spark")
    story = StoryStore(api.load_project(cfg)).load(result.run_id)
    assert story.node("clean").sample.source == "output" and story.node("report").sample.rows == [[3, 120]]
    assert story.node("people").sample is None
    assert len(story.notes) == 1 and "people" in story.notes[0] and "detailed" in story.notes[0]
    for ext in ("md", "html"):  # the renderings say it too
        assert "no sample of 1 node(s) (people)" in Path(result.story[ext]).read_text(encoding="utf-8")
    cfg = _project(tmp_path, story="story: {verbosity: detailed}")
    result = api.run_project(cfg, engine="spark")
    story = StoryStore(api.load_project(cfg)).load(result.run_id)
    assert story.notes == [] and len(story.node("people").sample.rows) == 3


def test_a_story_connection_that_holds_tables_is_a_located_validate_error(tmp_path):
    cfg = _project(tmp_path, story="story: {connection: db}")
    text = cfg.read_text(encoding="utf-8").replace(
        "connections:\n", "connections:\n  db: {type: sql, url: 'postgresql://u@localhost/x'}\n", 1
    )
    cfg.write_text(text, encoding="utf-8")
    outcome = CliRunner().invoke(app, ["validate", str(cfg)])
    assert outcome.exit_code == 2, outcome.output
    assert "stories are files" in outcome.output and "odibi.yaml:" in outcome.output


def test_a_run_that_stops_half_way_still_writes_its_story(tmp_path, monkeypatch):
    """Injected fault (the one fake here): the runner's bookkeeping after the pipeline raises, as an
    interrupt or a bug would. The exception reaches the caller, and the story says what stopped the run."""
    from odibi.run import runner

    def boom(*args, **kwargs):
        raise RuntimeError("bookkeeping exploded")

    monkeypatch.setattr(runner, "_record_marks", boom)
    cfg = _project(tmp_path)
    with pytest.raises(RuntimeError, match="bookkeeping exploded"):
        api.run_project(cfg)
    story = StoryStore(api.load_project(cfg)).load("last")
    assert story.status == "failed" and story.error == "RuntimeError: bookkeeping exploded"
    assert story.totals.success == 3  # the nodes themselves ran


def test_a_run_started_while_an_exception_is_handled_is_not_blamed_for_it(tmp_path):
    cfg = _project(tmp_path)
    try:
        raise ValueError("the caller's own, already handled")
    except ValueError:
        result = api.run_project(cfg)
    story = StoryStore(api.load_project(cfg)).load(result.run_id)
    assert result.ok and story.status == "success" and story.error is None
