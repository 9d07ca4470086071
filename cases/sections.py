"""Parts of the core's pages that an app adds: a section of the person page, of the case
page, of a pair on the possible-duplicates page (docs/architecture.md#dependency-direction).

An app registers, from its AppConfig.ready(), a function `(user, obj) -> (template, context)`
or None (nothing to show to this user); the core's view renders what the functions give.
`cases` imports no app.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.template.loader import render_to_string
from django.utils.safestring import SafeString, mark_safe

PAGES = ("person", "case", "duplicate")

Section = Callable[[Any, Any], tuple[str, dict[str, Any]] | None]

_sections: dict[str, dict[str, Section]] = {page: {} for page in PAGES}


def register(page: str, name: str, section: Section) -> None:
    """Add (or replace: ready() may run twice in tests) an app's section of `page`."""
    if page not in PAGES:
        raise ValueError(f"no page {page!r} takes sections")
    _sections[page][name] = section


def render(request: Any, page: str, obj: Any) -> list[SafeString]:
    """The sections of `page` about `obj` for the request's user, rendered."""
    out = []
    for section in _sections[page].values():
        made = section(request.user, obj)
        if made is not None:
            template, context = made
            out.append(mark_safe(render_to_string(template, context, request=request)))  # noqa: S308
    return out
