"""Compile: each node's steps → one SQL query (sqlglot), printable in any dialect."""
