"""Test-only infrastructure: the Durable API and storage stand-ins, app settings, helpers.

The Slack and cache-flush stand-ins, shared with the benchmarks, are in `devhost.standins`.

Import it as ``tests.support.<module>`` (``tests`` is a namespace package found through the
repository root on ``sys.path``); never as ``support.<module>``, which would load a second copy
with its own sequence counter.
"""
