"""Benchmarks: ``python -m bench NAME`` runs ``bench/NAME.py`` (see ``python -m bench --list``).

Each benchmark reports ratios against a baseline measured in the same run; none of them asserts
wall-clock times.
"""
