"""Demos that reproduce the lectures' figures and numbers.

Each module ``demos/<name>.py`` shows one idea: ``python -m demos`` runs them
all (``--quick`` for a fast pass, ``--only NAME`` for one, ``--list`` to see
them) and writes the figures and ``report.md`` to ``demos/out/``; one demo
runs alone as ``python -m demos.<name>``. ``python -m demos.benchmark``
measures speed.
"""
