"""Connections: where data lives. Only this package knows storage libraries."""
