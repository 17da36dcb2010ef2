"""Retries of a node that hit a transient fault, through tenacity.

The policy comes from ``retry:`` (project level, overridden per node). Waits grow exponentially,
linearly or stay constant from ``delay``, are capped at ``max_delay``, and get up to ``jitter`` seconds
added at random so that runs side by side do not retry in lock-step. Which faults are transient is
decided by :mod:`odibi.run.failures`; this module only counts attempts and waits.

tenacity is imported only when a node may be retried (it pulls in asyncio). Waiting goes through :data:`sleep` (``time.sleep``): tests replace it with a fake clock.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar

from odibi.config.models import RetryConfig

if TYPE_CHECKING:
    import tenacity

T = TypeVar("T")

sleep: Callable[[float], None] = time.sleep  # replaced by tests (no real sleeping)


@dataclass(frozen=True)
class RetryPolicy:
    """How often and how patiently a node is tried."""

    max_attempts: int = 1
    backoff: str = "exponential"
    delay: float = 1.0
    max_delay: float = 60.0
    jitter: float = 1.0

    @classmethod
    def of(cls, project: RetryConfig | None, node: RetryConfig | None = None) -> RetryPolicy:
        """The node's policy: its own ``retry:`` if it has one, else the project's; none → one attempt."""
        chosen = node if node is not None else project
        if chosen is None or not chosen.enabled:
            return cls()
        return cls(chosen.max_attempts, chosen.backoff, chosen.delay, chosen.max_delay, chosen.jitter)

    def _wait(self) -> tenacity.wait.wait_base:
        import tenacity

        if self.backoff == "exponential":
            base: Any = tenacity.wait_exponential(multiplier=self.delay, max=self.max_delay, exp_base=2)
        elif self.backoff == "linear":
            base = tenacity.wait_incrementing(start=self.delay, increment=self.delay, max=self.max_delay)
        else:
            base = tenacity.wait_fixed(min(self.delay, self.max_delay))
        return base + tenacity.wait_random(0, self.jitter) if self.jitter > 0 else base


def call(
    fn: Callable[[int], T],
    policy: RetryPolicy,
    retryable: Callable[[BaseException], bool],
    on_retry: Callable[[int, float, BaseException], None] | None = None,
) -> T:
    """``fn(attempt)`` until it returns, a fault is not ``retryable``, or the attempts run out (then
    the last fault is raised). ``on_retry(attempt, wait_s, fault)`` is told before each wait."""
    if policy.max_attempts <= 1:
        return fn(1)
    import tenacity  # ~50 ms to import (asyncio): only for nodes that may be retried

    def before_sleep(state: tenacity.RetryCallState) -> None:
        if on_retry is not None and state.outcome is not None:
            fault = state.outcome.exception()
            wait = state.next_action.sleep if state.next_action is not None else 0.0
            on_retry(state.attempt_number, float(wait), fault)  # type: ignore[arg-type]

    retrying = tenacity.Retrying(
        stop=tenacity.stop_after_attempt(policy.max_attempts),
        wait=policy._wait(),
        retry=tenacity.retry_if_exception(retryable),
        sleep=lambda seconds: sleep(seconds),  # looked up at each wait: a test's fake clock applies
        before_sleep=before_sleep,
        reraise=True,
    )
    attempts = 0

    def attempt() -> T:
        nonlocal attempts
        attempts += 1
        return fn(attempts)

    return retrying(attempt)
