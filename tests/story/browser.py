"""Open an HTML story in headless Chromium (Debian's, through Playwright's client) and report what the page
did: console and page errors, alerts that fired, network requests, scripts and handler attributes in the
DOM, the DAG's nodes and the node panels found, and the page's visible text.

Playwright's own browser downloads are never used: the browser is ``$ODIBI_CHROMIUM``, or ``chromium`` on
PATH, or ``/usr/bin/chromium`` (``.ci/run`` installs it). CI runs as root, where Chromium needs
``--no-sandbox``.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from playwright.sync_api import Browser

DEFAULT_CHROMIUM = "/usr/bin/chromium"

# every attribute of every element whose name starts with "on" (onerror=, onload=, ...)
_HANDLERS_JS = """() => {
  const found = [];
  for (const el of document.querySelectorAll('*')) {
    for (const a of el.attributes) {
      if (a.name.toLowerCase().startsWith('on')) found.push(el.tagName.toLowerCase() + '[' + a.name + ']');
    }
  }
  return found;
}"""


@dataclass
class PageReport:
    console_errors: list[str] = field(default_factory=list)
    page_errors: list[str] = field(default_factory=list)
    dialogs: list[str] = field(default_factory=list)  # alert/confirm/prompt messages that fired
    dag_nodes: list[str] = field(default_factory=list)  # data-node of the SVG's node groups
    panels: list[str] = field(default_factory=list)  # data-node of the node panels
    scripts: int = 0  # <script> elements in the DOM
    handler_attributes: list[str] = field(default_factory=list)  # "tag[onxxx]" for any on* attribute
    requests: list[str] = field(default_factory=list)  # any request other than the page itself
    body_text: str = ""  # document.body.innerText


def chromium_path() -> str | None:
    """The Chromium to drive, or None when there is none."""
    env = os.environ.get("ODIBI_CHROMIUM")
    if env:
        return env if Path(env).is_file() else None
    found = shutil.which("chromium")
    if found:
        return found
    return DEFAULT_CHROMIUM if Path(DEFAULT_CHROMIUM).is_file() else None


def require_chromium() -> str:
    """The Chromium path; skips the test when there is none, but fails in CI (``CI`` set), where
    ``.ci/run`` should have installed it."""
    path = chromium_path()
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        reason = "the playwright package is not installed (pip install -e '.[dev]')"
    else:
        if path is not None:
            return path
        reason = (
            "no Chromium found (set ODIBI_CHROMIUM, or install Debian's chromium: apt-get install chromium)"
        )
    if os.environ.get("CI"):
        pytest.fail(f"{reason}; .ci/run should have installed it", pytrace=False)
    pytest.skip(reason)
    raise AssertionError("unreachable")  # pragma: no cover


@contextmanager
def launch_chromium() -> Iterator[Browser]:
    """One headless Chromium for several :func:`open_story` calls (a module-scoped fixture)."""
    from playwright.sync_api import sync_playwright

    executable = chromium_path() or DEFAULT_CHROMIUM
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=executable, args=["--no-sandbox"], headless=True)
        try:
            yield browser
        finally:
            browser.close()


def open_story(
    html_path: Path, screenshot: Path, *, browser: Browser | None = None, timeout_ms: int = 30_000
) -> PageReport:
    """Load ``html_path`` from disk in headless Chromium, take a full-page screenshot, report what the page
    did. Requests other than the page itself are recorded and aborted (never sent). ``browser``: one from
    :func:`launch_chromium` to reuse; by default a browser is launched for this page alone."""
    if browser is None:
        with launch_chromium() as own:
            return _open(own, Path(html_path), Path(screenshot), timeout_ms)
    return _open(browser, Path(html_path), Path(screenshot), timeout_ms)


def _open(browser: Browser, html_path: Path, screenshot: Path, timeout_ms: int) -> PageReport:
    url = html_path.resolve().as_uri()
    report = PageReport()
    context = browser.new_context(viewport={"width": 1280, "height": 900}, java_script_enabled=True)
    try:
        page = context.new_page()
        page.set_default_timeout(timeout_ms)

        def on_console(m) -> None:
            if m.type in ("error", "assert"):
                report.console_errors.append(m.text)

        def on_dialog(d) -> None:
            report.dialogs.append(f"{d.type}: {d.message}")
            d.dismiss()

        def on_request(r) -> None:
            if r.url != url:
                report.requests.append(r.url)

        def on_route(route) -> None:
            if route.request.url == url:
                route.continue_()
            else:
                route.abort()

        page.on("console", on_console)
        page.on("pageerror", lambda e: report.page_errors.append(str(e)))
        page.on("dialog", on_dialog)
        page.on("request", on_request)
        page.route("**/*", on_route)
        page.goto(url, wait_until="load")
        page.wait_for_load_state("networkidle")
        report.dag_nodes = page.eval_on_selector_all(
            "svg#dag .dag-node", "els => els.map(e => e.getAttribute('data-node'))"
        )
        report.panels = page.eval_on_selector_all(
            "section.node-panel", "els => els.map(e => e.getAttribute('data-node'))"
        )
        report.scripts = page.eval_on_selector_all("script", "els => els.length")
        report.handler_attributes = page.evaluate(_HANDLERS_JS)
        report.body_text = page.inner_text("body")
        screenshot.parent.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(screenshot), full_page=True)
    finally:
        context.close()
    return report
