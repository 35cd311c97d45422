"""The dashboard: `/dashboard/`, web pages for operators (admins only), served by `wf serve`
(docs/dashboard.md). `sessions` signs admins in and guards forms, `pages` serves the pages and
their actions, `stream` the live runs, `views` the templates; `static/` holds the vendored scripts
(htmx, Mermaid) and the styles: nothing is fetched from another site."""

from __future__ import annotations

from . import stream  # noqa: F401  (its routes join the blueprint)
from .pages import bp

__all__ = ["bp"]
