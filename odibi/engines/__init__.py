"""Engines: where a compiled plan runs. Only this package knows a concrete engine library."""
