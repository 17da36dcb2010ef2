"""odibi benchmarks: print a table, write JSON under benchmarks/results/ (numbers go in docs/performance.md)."""
