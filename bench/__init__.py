"""Benchmarks: `make bench`. Not tests: speed and memory are measured here, never asserted."""
