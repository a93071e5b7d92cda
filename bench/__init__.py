"""Benchmarks: run from the repository root as ``python -m bench.<name>`` (make bench-*);
each prints a one-line JSON summary last."""
