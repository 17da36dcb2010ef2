"""Writes replace only what odibi owns, and no path leaves its connection's folder.

Reproduced on odibi 0.4.0: an overwrite whose path was an existing folder, ``.`` or ``..`` replaced the
whole folder (with ``..``, the project) by one CSV file and exited 0; ``../../x.csv``, absolute paths and
symlinks inside ``base_path`` were read and written.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from odibi.api import run_project, validate
from odibi.errors import ConfigError

WRITE = """
project: targets
connections:
  data: {{type: local, base_path: ./data}}
pipelines:
  - pipeline: p
    nodes:
      - name: src
        read: {{connection: data, path: in.csv}}
      - name: out
        depends_on: [src]
        write: {{connection: data, path: "{path}", format: csv, mode: {mode}}}
"""

READ = """
project: reads
connections:
  data: {{type: local, base_path: ./data}}
pipelines:
  - pipeline: p
    nodes:
      - name: src
        read: {{connection: data, path: "{path}", format: csv}}
      - name: out
        depends_on: [src]
        write: {{connection: data, path: out.csv}}
"""


def _odibi(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "odibi", *args], cwd=cwd, capture_output=True, text=True)


def _run_validated(valid, engine: str):
    """Run an already validated project (what happens when the disk changes after ``validate``)."""
    from odibi.engines import registry
    from odibi.run.runner import run_plan

    eng = registry.create(engine, **valid.project.config.options_for(engine))
    try:
        return run_plan(valid.project, eng, valid.selection, valid.compiled)
    finally:
        eng.close()


def _tree(folder: Path) -> dict[str, bytes]:
    """Every file under ``folder`` with its bytes (odibi's own .odibi folder left out)."""
    return {
        str(p.relative_to(folder)): p.read_bytes()
        for p in sorted(folder.rglob("*"))
        if p.is_file() and ".odibi" not in p.relative_to(folder).parts
    }


@pytest.fixture
def project(tmp_path: Path) -> Path:
    (tmp_path / "data" / "gold").mkdir(parents=True)
    (tmp_path / "data" / "in.csv").write_text("a,b\n1,2\n")
    (tmp_path / "data" / "gold" / "keep.txt").write_text("not odibi's\n")
    (tmp_path / "outside.csv").write_text("x\nprecious\n")
    return tmp_path


@pytest.mark.parametrize(
    ("path", "message"),
    [
        ("gold", "existing folder that odibi did not write"),
        (".", "connection's folder itself"),
        ("..", "leads outside"),
        ("../outside.csv", "leads outside"),
        ("gold/../../outside.csv", "leads outside"),
        ("/etc/passwd", "is absolute"),
        ("~/x.csv", "is absolute"),
        ("s3://bucket/x.csv", "is a URI"),
        ("file:///tmp/x.csv", "is a URI"),
        ("gold/", "names a folder"),
    ],
)
@pytest.mark.parametrize("mode", ["overwrite", "append", "error"])
def test_validate_refuses_targets_it_does_not_own(project, path, message, mode):
    cfg = project / "odibi.yaml"
    cfg.write_text(WRITE.format(path=path, mode=mode))
    before = _tree(project)
    if path == "gold" and mode == "append":  # adding a part file to a folder destroys nothing
        validate(cfg)
        return
    if path == "gold" and mode == "error":
        message = "output already exists"
    done = _odibi("validate", str(cfg), cwd=project)
    assert done.returncode == 2, done.stdout + done.stderr
    assert message in done.stderr
    assert "odibi.yaml:12:" in done.stderr  # the line of the write block
    assert "Traceback" not in done.stderr
    run = _odibi("run", str(cfg), cwd=project)
    assert run.returncode == 2
    assert _tree(project) == before


def test_a_folder_made_after_validation_is_refused_at_run(project, engine):
    """The target is checked again when the write starts: nothing is deleted, the node fails."""
    cfg = project / "odibi.yaml"
    cfg.write_text(WRITE.format(path="late.csv", mode="overwrite"))
    valid = validate(cfg)
    (project / "data" / "late.csv").mkdir()
    (project / "data" / "late.csv" / "part.txt").write_text("someone else's\n")
    before = _tree(project)
    result = _run_validated(valid, engine)
    out = result.nodes[-1]
    assert out.status == "failed"
    assert "existing folder that odibi did not write" in out.error
    assert _tree(project) == before


def test_an_owned_folder_may_be_replaced(project, engine):
    """A folder carrying odibi's marker (a folder output it made) is replaced as a whole."""
    cfg = project / "odibi.yaml"
    cfg.write_text(WRITE.format(path="owned.csv", mode="overwrite"))
    owned = project / "data" / "owned.csv"
    owned.mkdir()
    (owned / ".odibi-output").write_text("")
    result = run_project(cfg, engine=engine)
    assert result.ok, result.nodes
    assert owned.is_file() and owned.read_text().startswith("a,b")


def test_symlinks_leading_out_are_refused_at_run(project, engine, tmp_path_factory):
    outside = tmp_path_factory.mktemp("elsewhere")
    (outside / "secret.csv").write_text("a,b\n9,9\n")
    (outside / "target.csv").write_text("a,b\nold,old\n")
    os.symlink(outside / "secret.csv", project / "data" / "link_in.csv")
    os.symlink(outside / "target.csv", project / "data" / "link_out.csv")
    os.symlink(outside, project / "data" / "linkdir")
    before = _tree(outside)

    for path in ("link_in.csv", "linkdir/secret.csv", "linkdir/*.csv"):
        cfg = project / "odibi.yaml"
        cfg.write_text(READ.format(path=path))
        with pytest.raises(ConfigError, match="leads outside"):
            validate(cfg)

    cfg = project / "odibi.yaml"
    cfg.write_text(READ.format(path="late_link.csv"))
    (project / "data" / "late_link.csv").write_text("a,b\n1,1\n")
    valid = validate(cfg)  # a plain file now; a link leading out by the time the run starts
    (project / "data" / "late_link.csv").unlink()
    os.symlink(outside / "secret.csv", project / "data" / "late_link.csv")
    result = _run_validated(valid, engine)
    assert result.nodes[0].status == "failed" and "leads outside" in result.nodes[0].error
    assert not (project / "data" / "out.csv").exists()

    for path in ("link_out.csv", "linkdir/new.csv"):
        cfg.write_text(WRITE.format(path=path, mode="overwrite"))
        with pytest.raises(ConfigError, match="leads outside"):
            validate(cfg)
    assert _tree(outside) == before


def test_a_node_writing_gold_without_validation_cannot_delete_the_project(project, engine):
    """The 0.4.0 repro: ``path: ..`` removed the project folder. The API path (no CLI) refuses too."""
    cfg = project / "odibi.yaml"
    cfg.write_text(WRITE.format(path="..", mode="overwrite"))
    with pytest.raises(ConfigError):
        run_project(cfg, engine=engine)
    assert (project / "odibi.yaml").exists() and (project / "data" / "in.csv").exists()
