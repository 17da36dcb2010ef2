"""Plan: the DAG of each pipeline, its layers, and node selection."""
