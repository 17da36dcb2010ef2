"""The command line: a thin typer face over :mod:`odibi.api`. Imports no engine library."""
