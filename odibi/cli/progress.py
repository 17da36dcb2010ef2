"""What a run shows while it goes: a live line on a terminal, plain lines when output is piped.

Both follow the run's events (``odibi.run.events``): nodes done / running / left, rows written and the
time so far. On a terminal, rich redraws one status line on stderr; in a pipe or a CI log, each node
that ends prints one line, so the log reads in order and nothing is redrawn.
"""

from __future__ import annotations

import sys
import time
from typing import Any

from odibi.secrets import mask


class RunProgress:
    """A listener for ``api.run_project(listener=...)``; use as a context manager."""

    def __init__(self, *, live: bool | None = None) -> None:
        self.live = sys.stderr.isatty() if live is None else live
        self.total = self.done = self.running = self.rows = 0
        self.failed = 0
        self.started = time.perf_counter()
        self._status = None

    def __enter__(self) -> RunProgress:
        if self.live:
            from rich.console import Console

            self._status = Console(stderr=True).status("odibi: starting")
            self._status.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        if self._status is not None:
            self._status.__exit__(None, None, None)
            self._status = None

    def __call__(self, event: str, fields: dict[str, Any]) -> None:
        if event == "run_started":
            self.total = int(fields.get("nodes", 0))
        elif event == "node_started":
            self.running += 1
        elif event == "node_finished":
            if fields.get("attempt"):  # it was started (not skipped before it began)
                self.running = max(0, self.running - 1)
            self.done += 1
            self.rows += int(fields.get("rows") or 0)
            self.failed += fields.get("status") == "failed"
            if not self.live:
                rows = f" {fields['rows']:,} rows" if fields.get("rows") is not None else ""
                line = (
                    f"odibi: [{self.done}/{self.total}] {fields.get('pipeline')}.{fields.get('node')} "
                    f"{fields.get('status')}{rows} {float(fields.get('duration_s', 0)):.2f}s"
                )
                print(mask(line), file=sys.stderr, flush=True)
        elif event == "node_retry" and not self.live:
            print(
                mask(
                    f"odibi: {fields.get('pipeline')}.{fields.get('node')} retrying "
                    f"(attempt {fields.get('attempt')} failed)"
                ),
                file=sys.stderr,
                flush=True,
            )
        if self._status is not None:
            left = max(0, self.total - self.done - self.running)
            elapsed = time.perf_counter() - self.started
            failed = f", [red]{self.failed} failed[/red]" if self.failed else ""
            self._status.update(
                f"odibi: {self.done} done, {self.running} running, {left} left{failed}; "
                f"{self.rows:,} rows; {elapsed:.1f}s"
            )
