"""Reusable test infrastructure: local stand-ins for Slack, cache-flush, Durable and storage.

Import it as ``tests.support.<module>`` (``tests`` is a namespace package found through the
repository root on ``sys.path``); never as ``support.<module>``, which would load a second copy
with its own sequence counter.
"""
