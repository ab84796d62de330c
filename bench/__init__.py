"""Benchmarks run in the guest; each reports ratios measured in one boot."""
