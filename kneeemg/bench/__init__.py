"""Benchmarks: speed (:mod:`kneeemg.bench.speed`) and accuracy (:mod:`kneeemg.bench.accuracy`).

``kneeemg bench speed|accuracy`` and the scripts in ``benchmarks/`` call these.
"""
