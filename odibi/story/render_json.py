"""The JSON story: the record itself (``Story.to_json``), the one rendering every other is made from."""

from __future__ import annotations

from odibi.story.model import Story

EXTENSION = "json"


def render(story: Story) -> str:
    """The story as indented JSON (the record as stored)."""
    return story.to_json()
