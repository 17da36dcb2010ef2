"""Fixtures for the end-to-end tests.

The CLI runs are subprocesses that spend most of their time importing the stack; both are started
once, at the start of the session, so they overlap with the in-process runs and the suite stays fast.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
from e2e_helpers import copy_example, start_cli

CLI_EXAMPLES = ("quickstart", "v1_sales")


class CliRun:
    """``python -m odibi run`` on a copy of an example, from a working directory outside it."""

    def __init__(self, folder: Path, proc: subprocess.Popen):
        self.folder = folder
        self._proc = proc
        self._done: subprocess.CompletedProcess | None = None

    def wait(self) -> subprocess.CompletedProcess:
        if self._done is None:
            out, err = self._proc.communicate(timeout=120)
            self._done = subprocess.CompletedProcess(self._proc.args, self._proc.returncode, out, err)
        return self._done


@pytest.fixture(scope="session")
def cli_runs(request, tmp_path_factory):
    collected = {Path(str(item.fspath)).name for item in request.session.items}
    runs = {}
    for name in CLI_EXAMPLES:
        if f"test_{name}.py" not in collected:
            continue  # that module was deselected: do not pay for its CLI run
        base = tmp_path_factory.mktemp(f"cli_{name}")
        folder = copy_example(name, base / "project")
        cwd = base / "cwd"
        cwd.mkdir()
        runs[name] = CliRun(folder, start_cli(folder / "odibi.yaml", cwd=cwd))
    yield runs
    for run in runs.values():
        if run._proc.poll() is None:
            run._proc.kill()
            run._proc.wait()
