"""A ready-queue over a pipeline's DAG: each node starts as soon as its inputs are done.

Not lock-step layers: a slow node holds back only what depends on it. At most ``workers`` nodes run at
once, in worker threads; ``workers=1`` runs them one by one on the calling thread, in the order given.
Whatever the order nodes finish in, the results come back in the order given (the pipeline's
topological order), so summaries and records do not depend on timing.

The caller decides everything about a node: ``admit(name)`` (on the scheduling thread, when the node is
ready) returns a result for a node that must not run (an upstream failed, the run is stopping) or None;
``work(name)`` runs it (in a worker); ``finished(result)`` (scheduling thread) sees every outcome.
"""

from __future__ import annotations

import heapq
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from typing import Generic, TypeVar

R = TypeVar("R")


class ReadyQueue(Generic[R]):
    """Runs ``names`` (in topological order) respecting ``inputs`` (name → names it needs)."""

    def __init__(
        self,
        names: list[str],
        inputs: dict[str, list[str]],
        *,
        admit: Callable[[str], R | None],
        work: Callable[[str], R],
        finished: Callable[[str, R], None],
        workers: int = 1,
    ) -> None:
        self.names = names
        wanted = set(names)
        self.inputs = {n: [d for d in inputs.get(n, []) if d in wanted and d != n] for n in names}
        self.admit, self.work, self.finished = admit, work, finished
        self.workers = max(1, workers)

    def run(self) -> dict[str, R]:
        results: dict[str, R] = {}
        if self.workers == 1:
            for name in self.names:  # already in dependency order
                results[name] = self._start_inline(name)
            return results
        order = {n: i for i, n in enumerate(self.names)}
        missing = {n: len(set(self.inputs[n])) for n in self.names}  # inputs not finished yet
        consumers: dict[str, list[str]] = {n: [] for n in self.names}
        for name in self.names:
            for dep in set(self.inputs[name]):
                consumers[dep].append(name)
        ready = [order[n] for n in self.names if missing[n] == 0]  # a heap: earliest in the order first
        heapq.heapify(ready)
        running: dict[Future[R], str] = {}

        def settle(name: str, result: R) -> None:
            results[name] = result
            self.finished(name, result)
            for consumer in consumers[name]:
                missing[consumer] -= 1
                if missing[consumer] == 0:
                    heapq.heappush(ready, order[consumer])

        with ThreadPoolExecutor(max_workers=self.workers, thread_name_prefix="odibi-node") as pool:
            while ready or running:
                while ready and len(running) < self.workers:
                    name = self.names[heapq.heappop(ready)]
                    decided = self.admit(name)
                    if decided is not None:
                        settle(name, decided)
                    else:
                        running[pool.submit(self.work, name)] = name
                if not running:
                    continue
                done, _ = wait(running, return_when=FIRST_COMPLETED)
                for future in sorted(done, key=lambda f: order[running[f]]):
                    name = running.pop(future)
                    settle(name, future.result())  # work() reports failures as results
        return {n: results[n] for n in self.names}

    def _start_inline(self, name: str) -> R:
        decided = self.admit(name)
        result = decided if decided is not None else self.work(name)
        self.finished(name, result)
        return result
