"""Form widgets written out in Python instead of through Django's widget templates.

Every page carries forms, and Django renders each widget through a template and each
<option> and checkbox through another included one: on the case list the filter form alone
was a sixth of the page's time (docs/architecture.md#speed). This renderer writes the
commonest widget templates (inputs, text areas, selects, checkbox and radio lists) the way
those templates would, byte for byte (tests/cases/test_widget_renderer.py compares both on
every kind of widget); any other template, or one an app overrides, goes through Django's
own renderer as before.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import django.forms
from django.forms.renderers import DjangoTemplates
from django.utils.html import conditional_escape, escape
from django.utils.safestring import SafeData, SafeString, mark_safe

W = "django/forms/widgets/"
_DJANGO_TEMPLATES = Path(django.forms.__file__).parent / "templates"


def _s(value: Any) -> str:
    """`{{ value|stringformat:'s' }}`: formatted with %s, escaped unless it was safe."""
    text = "%s" % (value,)  # noqa: UP031  (the filter's own formatting)
    return text if isinstance(value, SafeData) else escape(text)


def _attrs(attrs: Mapping[str, Any]) -> str:
    """django/forms/widgets/attrs.html"""
    out = []
    for name, value in attrs.items():
        if value is False:
            continue
        out.append(f" {conditional_escape(name)}")
        if value is not True:
            out.append(f'="{_s(value)}"')
    return "".join(out)


def _input(w: Mapping[str, Any]) -> str:
    """django/forms/widgets/input.html, with its closing newline."""
    value = "" if w["value"] is None else f' value="{_s(w["value"])}"'
    return (f'<input type="{conditional_escape(w["type"])}" name="{conditional_escape(w["name"])}"'
            f'{value}{_attrs(w["attrs"])}>\n')


def _input_option(w: Mapping[str, Any]) -> str:
    """django/forms/widgets/input_option.html (checkbox and radio options)."""
    if not w["wrap_label"]:
        return _input(w) + "\n"
    for_id = w["attrs"].get("id")
    label_for = f' for="{conditional_escape(for_id)}"' if for_id else ""
    return f'<label{label_for}>{_input(w)} {conditional_escape(w["label"])}</label>\n'


def _select_option(w: Mapping[str, Any]) -> str:
    """django/forms/widgets/select_option.html"""
    return (f'<option value="{_s(w["value"])}"{_attrs(w["attrs"])}>'
            f'{conditional_escape(w["label"])}</option>\n')


def _box_option(w: Mapping[str, Any]) -> str:
    """django/forms/widgets/checkbox_option.html and radio_option.html"""
    return _input_option(w) + "\n"


_OPTIONS: dict[str, Callable[[Mapping[str, Any]], str]] = {
    W + "select_option.html": _select_option,
    W + "radio_option.html": _box_option,
    W + "checkbox_option.html": _box_option,
}


def _options_written(w: Mapping[str, Any]) -> bool:
    return all(option["template_name"] in _OPTIONS
               for _group, options, _index in w["optgroups"] for option in options)


def _select(w: Mapping[str, Any]) -> str:
    """django/forms/widgets/select.html"""
    out = [f'<select name="{conditional_escape(w["name"])}"{_attrs(w["attrs"])}>']
    for group, options, _index in w["optgroups"]:
        if group:
            out.append(f'\n  <optgroup label="{conditional_escape(group)}">')
        for option in options:
            out.append("\n  " + _OPTIONS[option["template_name"]](option))
        if group:
            out.append("\n  </optgroup>")
    out.append("\n</select>")
    return "".join(out)


def _multiple_input(w: Mapping[str, Any]) -> str:
    """django/forms/widgets/multiple_input.html (checkbox_select.html, radio.html)"""
    attrs = w["attrs"]
    out = ["<div"]
    if attrs.get("id"):
        out.append(f' id="{conditional_escape(attrs["id"])}"')
    if attrs.get("class"):
        out.append(f' class="{conditional_escape(attrs["class"])}"')
    out.append(">")
    for group, options, _index in w["optgroups"]:
        if group:
            out.append(f"\n  <div><label>{conditional_escape(group)}</label>")
        for option in options:
            out.append("<div>\n    " + _OPTIONS[option["template_name"]](option) + "</div>")
        if group:
            out.append("\n  </div>")
    out.append("\n</div>")
    return "".join(out)


def _textarea(w: Mapping[str, Any]) -> str:
    """django/forms/widgets/textarea.html"""
    value = conditional_escape(w["value"]) if w["value"] else ""
    return f'<textarea name="{conditional_escape(w["name"])}"{_attrs(w["attrs"])}>\n{value}</textarea>'


_WRITERS: dict[str, Callable[[Mapping[str, Any]], str]] = {
    **{W + f"{kind}.html": _input for kind in (
        "input", "text", "email", "number", "date", "datetime", "password", "hidden", "url",
        "checkbox", "search", "tel", "time", "color")},
    W + "select.html": _select,
    W + "checkbox_select.html": _multiple_input,
    W + "radio.html": _multiple_input,
    W + "textarea.html": _textarea,
}
_WITH_OPTIONS = {W + "select.html", W + "checkbox_select.html", W + "radio.html"}


class WidgetRenderer(DjangoTemplates):
    """Django's form renderer, writing the widget templates of _WRITERS in Python."""

    def __init__(self) -> None:
        super().__init__()
        self._own: dict[str, bool] = {}

    def _is_django_own(self, template_name: str) -> bool:
        """Whether the template found for this name is Django's own (no app overrides it)."""
        own = self._own.get(template_name)
        if own is None:
            origin = Path(self.get_template(template_name).origin.name)
            own = self._own[template_name] = origin.is_relative_to(_DJANGO_TEMPLATES)
        return own

    def render(self, template_name: str, context: dict[str, Any], request: Any = None) -> str:
        write = _WRITERS.get(template_name)
        if write is None or not self._is_django_own(template_name):
            return super().render(template_name, context, request)
        widget = context["widget"]
        if template_name in _WITH_OPTIONS and not (
                _options_written(widget)
                and all(self._is_django_own(name) for name in _OPTIONS)):
            return super().render(template_name, context, request)
        html: SafeString = mark_safe(write(widget).strip())  # noqa: S308  (every value escaped above)
        return html
