"""The docs' examples hold: every ```yaml block of README.md and docs/*.md is valid YAML, and every relative
link or shipped path they name exists.

A block that is meant to be a fragment (not YAML on its own) says so in its info string, ```` ```yaml partial
````, and is skipped (GitHub still highlights it as YAML). Paths under an ``output/`` folder are what a run
writes, not files of the repository, and are not checked.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]

_FENCE = re.compile(r"^```(?P<info>[^\n]*)\n(?P<body>.*?)^```[ \t]*$", re.S | re.M)
_LINK = re.compile(r"\[[^\]]*\]\((?P<target>[^)\s]+)(?:\s+\"[^\"]*\")?\)")
# paths of the repository's shipped folders named in prose or code: examples/quickstart/odibi.yaml, ...
_PATH = re.compile(r"(?<![\w/.$-])(?P<path>(?:examples|benchmarks|docs|schemas|odibi)/[\w./*-]*[\w*])")
# the repository's top-level documents: SECURITY.md, CHANGELOG.md, ...
_ROOT_DOC = re.compile(r"(?<![\w/.-])(?P<path>[A-Z][A-Z_]*\.md)\b")


def _line(text: str, pos: int) -> int:
    return text.count("\n", 0, pos) + 1


def _yaml_blocks() -> list:
    out = []
    for doc in DOCS:
        text = doc.read_text(encoding="utf-8")
        for m in _FENCE.finditer(text):
            words = m.group("info").split()
            if words[:1] in (["yaml"], ["yml"]):
                rel = f"{doc.relative_to(ROOT)}:{_line(text, m.start())}"
                marks = [pytest.mark.skip(reason="marked partial")] if "partial" in words[1:] else []
                out.append(pytest.param(m.group("body"), id=rel, marks=marks))
    return out


def test_the_docs_have_yaml_examples():
    assert len(_yaml_blocks()) >= 10


@pytest.mark.parametrize("block", _yaml_blocks())
def test_a_yaml_example_parses(block: str):
    yaml.safe_load(block)


@pytest.mark.parametrize("doc", DOCS, ids=lambda p: str(p.relative_to(ROOT)))
def test_relative_links_resolve(doc: Path):
    text = doc.read_text(encoding="utf-8")
    broken = []
    for m in _LINK.finditer(text):
        target = m.group("target").split("#")[0]
        if not target or re.match(r"^[a-z][a-z0-9+.-]*:", target):  # an anchor in the page, or a URL
            continue
        if not (doc.parent / target).exists():
            broken.append(f"{doc.name}:{_line(text, m.start())}: {target}")
    assert not broken, "links to files that do not exist:\n" + "\n".join(broken)


@pytest.mark.parametrize("doc", DOCS, ids=lambda p: str(p.relative_to(ROOT)))
def test_named_repository_paths_exist(doc: Path):
    text = doc.read_text(encoding="utf-8")
    missing = []
    for m in _PATH.finditer(text):
        path = m.group("path").rstrip(".")
        if "/output/" in f"/{path}/":
            continue  # what a run writes
        found = list(ROOT.glob(path)) if "*" in path else [ROOT / path] if (ROOT / path).exists() else []
        if not found:
            missing.append(f"{doc.name}:{_line(text, m.start())}: {path}")
    for m in _ROOT_DOC.finditer(text):
        if not (ROOT / m.group("path")).exists():
            missing.append(f"{doc.name}:{_line(text, m.start())}: {m.group('path')}")
    assert not missing, "paths that are not in the repository:\n" + "\n".join(missing)
