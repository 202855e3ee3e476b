"""Benchmarks of a running Roundhouse, measured from outside through its API.

Run with `make bench`; results are recorded by hand in bench/RESULTS.md.
"""
