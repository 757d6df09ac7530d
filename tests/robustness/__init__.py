"""Robustness tests: fuzzed endpoints, URL rules, injected faults, replay and secret audits."""
