"""Run: execute a compiled plan on an engine, node by node, with atomic writes."""
