"""Benchmarks of DESIGN §9 (`make bench`): each reports a ratio against a floor measured in the same run."""
