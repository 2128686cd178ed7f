"""Benchmarks: how much of the machine goes into training rather than into the tool.

Run with `python -m bench` (or `make bench`); results land in `bench/results/*.csv`.
"""
