"""Operator commands, run as ``python -m chalicelib.cli.<name>``: ``admin``
(projects, users, keys, face sets), ``privacy`` (purge a project) and
``serve_banner`` (what ``make serve`` prints)."""
