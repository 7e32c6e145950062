"""Benchmarks of the targets in docs/architecture.md#performance-targets (`make bench`): each reports a ratio
against a floor measured in the same run."""
