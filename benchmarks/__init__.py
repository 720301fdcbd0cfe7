"""Benchmarks: speed and cost targets shown with figures and a baseline measured in the same run.

``python -m benchmarks [ack|poll|alert|budget ...]`` (or ``make bench``) runs them and writes
``benchmarks/RESULTS.md``. Each ``bench_*`` module has ``run() -> Section``.
"""
