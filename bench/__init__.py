"""Benchmarks of the app's latency-critical paths: ``python -m bench`` (``make bench``).

See doc/performance.md for what each figure means, how it is measured and the targets.
"""
