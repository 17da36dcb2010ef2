"""Formats: reader/writer option vocabularies shared by engines."""
