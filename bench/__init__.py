"""Benchmarks: speed and memory targets are measured here and written down in
docs/benchmarks.md, never asserted on time in the test suite."""
