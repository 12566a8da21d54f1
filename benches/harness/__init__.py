"""Cello's load-benchmark harness: runs each framework's app under wrk and writes reports.

Standard library only; the frameworks' own dependencies live in their virtualenvs.
Entry point: ``python benches/run.py`` (see benches/README.md).
"""
