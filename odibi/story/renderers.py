"""Story renderers by name: built-ins (``json``, ``md``, ``html``) plus plugins of the
``odibi.story_renderers`` entry point group.

A renderer is anything with ``EXTENSION`` (the file extension of its output, without the dot) and
``render(story) -> str``: usually a module. A plugin names it in an entry point
(``pdf = "my_pkg.story_pdf"``, or ``"my_pkg.story:PdfRenderer"`` for an object). Renderers are imported
only when asked for by name: importing this module imports none of them (nor Jinja2).
"""

from __future__ import annotations

from importlib import import_module
from importlib.metadata import entry_points
from typing import Any, Protocol

from odibi.errors import UsageError
from odibi.story.model import Story

ENTRY_POINT_GROUP = "odibi.story_renderers"

BUILTIN: dict[str, str] = {
    "json": "odibi.story.render_json",
    "md": "odibi.story.render_md",
    "html": "odibi.story.render_html",
}


class Renderer(Protocol):
    EXTENSION: str

    def render(self, story: Story) -> str: ...


_LOADED: dict[str, Any] = {}


def _plugins() -> dict[str, Any]:
    """name → entry point of the installed renderer plugins (not loaded)."""
    return {ep.name: ep for ep in entry_points(group=ENTRY_POINT_GROUP) if ep.name not in BUILTIN}


def names() -> list[str]:
    """The renderers' names: the built-ins first, then plugins (sorted)."""
    return [*BUILTIN, *sorted(_plugins())]


def get(name: str) -> Renderer:
    """The renderer called ``name`` (imported now); a :class:`UsageError` for an unknown name."""
    if name in _LOADED:
        return _LOADED[name]
    if name in BUILTIN:
        renderer: Any = import_module(BUILTIN[name])
    else:
        plugins = _plugins()
        if name not in plugins:
            from odibi.config.base import suggest

            known = names()
            near = suggest(name, known)
            raise UsageError(
                f"unknown story format '{name}'" + (f" (did you mean '{near}'?)" if near else ""),
                hint=f"formats: {', '.join(known)}",
            )
        try:
            renderer = plugins[name].load()
        except Exception as exc:  # a broken plugin: say which one
            raise UsageError(
                f"story renderer '{name}' ({plugins[name].value}) cannot be loaded: {exc}",
                hint=f"check the package that declares it in the '{ENTRY_POINT_GROUP}' entry point group",
            ) from None
    if not isinstance(getattr(renderer, "EXTENSION", None), str) or not callable(
        getattr(renderer, "render", None)
    ):
        raise UsageError(
            f"story renderer '{name}' has no EXTENSION and render(story)",
            hint="a renderer is a module or object with EXTENSION (str) and render(story) -> str",
        )
    _LOADED[name] = renderer
    return renderer


def extension(name: str) -> str:
    """The file extension of renderer ``name``'s output."""
    return get(name).EXTENSION


def render(story: Story, name: str) -> str:
    """``story`` rendered by the renderer called ``name``."""
    return get(name).render(story)
