"""The widget renderer writes the same markup as Django's widget templates, byte for byte."""

from __future__ import annotations

import datetime

import pytest
from django import forms
from django.conf import settings
from django.forms.renderers import DjangoTemplates, get_default_renderer
from django.utils.functional import lazy
from django.utils.safestring import mark_safe
from django.utils.translation import gettext_lazy

from cases import widget_renderer
from cases.forms import CaseListForm, NoteForm, PersonForm
from cases.models import Office
from cases.widget_renderer import WidgetRenderer

TRICKY = 'a <b> & "c" \'d\''
CHOICES = [("", "—"), ("x", TRICKY), (1, "one"), ("y", gettext_lazy("Reason")),
           (gettext_lazy("Group <1>"), [("g1", "first"), ("g2", "second")]), ("safe", mark_safe("<i>i</i>"))]


class Everything(forms.Form):
    text = forms.CharField(max_length=20, help_text="help")
    optional = forms.CharField(required=False, widget=forms.TextInput(attrs={
        "placeholder": TRICKY, "autofocus": True, "disabled": False, "data-n": 0, "data-one": 1}))
    email = forms.EmailField(required=False)
    number = forms.IntegerField(required=False, min_value=0)
    day = forms.DateField(required=False, widget=forms.DateInput(attrs={"type": "date"}))
    moment = forms.DateTimeField(required=False)
    secret = forms.CharField(required=False, widget=forms.PasswordInput(render_value=True))
    hidden = forms.CharField(required=False, widget=forms.HiddenInput)
    url = forms.URLField(required=False, assume_scheme="https")
    agree = forms.BooleanField(required=False)
    notes = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 2}))
    one = forms.ChoiceField(choices=CHOICES, required=False)
    many = forms.MultipleChoiceField(choices=CHOICES, required=False)
    boxes = forms.MultipleChoiceField(choices=CHOICES, required=False,
                                      widget=forms.CheckboxSelectMultiple(attrs={"class": "c"}))
    radio = forms.ChoiceField(choices=CHOICES, required=False, widget=forms.RadioSelect)
    nullable = forms.NullBooleanField(required=False)
    empty = forms.ChoiceField(choices=[], required=False)
    files = forms.FileField(required=False)
    split = forms.SplitDateTimeField(required=False)


DATA = [
    {},
    {"text": TRICKY, "optional": mark_safe("<em>"), "email": "a@b.example", "number": "-3",
     "day": "2026-12-07", "moment": "2026-12-07 10:00", "secret": TRICKY, "hidden": TRICKY,
     "url": "x", "agree": "on", "notes": TRICKY + "\nline", "one": "g2", "many": ["x", "1", "g1"],
     "boxes": ["y", "safe"], "radio": "1", "nullable": "true", "split_0": "2026-12-07",
     "split_1": "xx"},
    {"text": "", "one": "nope", "many": ["nope"], "radio": "safe", "notes": "", "nullable": "false"},
]


def _both(form: forms.Form) -> list[tuple[str, str, str]]:
    ours, django = WidgetRenderer(), DjangoTemplates()
    out = []
    for field in form:
        form.renderer = django
        expected = str(field)
        form.renderer = ours
        out.append((field.name, expected, str(field)))
    return out


@pytest.mark.parametrize("data", DATA, ids=["unbound", "filled", "invalid"])
def test_every_widget_is_written_as_django_writes_it(data):
    initial = {"text": "initial", "many": ["x"], "day": datetime.date(2026, 1, 2)}
    form = Everything(data or None, initial=initial, auto_id="id_%s")
    form.is_valid()
    for name, expected, written in _both(form):
        assert written == expected, name


def test_without_ids_and_in_spanish(settings):
    from django.utils import translation

    with translation.override("es"):
        form = Everything({"one": "y", "boxes": ["x"]}, auto_id=False)
        for name, expected, written in _both(form):
            assert written == expected, name


def test_the_project_forms(db, office, supervisor):
    from cases import selectors

    forms_ = [
        CaseListForm({"state": "x", "sort": "nope", "flag": ["urgent"]},
                     choices=selectors.case_list_choices(supervisor), show="all"),
        PersonForm({"given_names": TRICKY, "nationalities": ["MX", "GT"]},
                   offices=Office.objects.filter(pk=office.pk)),
        NoteForm({"text": TRICKY}),
    ]
    for form in forms_:
        form.is_valid()
        for name, expected, written in _both(form):
            assert written == expected, (type(form).__name__, name)


def test_the_renderer_is_the_default():
    assert settings.FORM_RENDERER == "cases.widget_renderer.WidgetRenderer"
    assert isinstance(get_default_renderer(), WidgetRenderer)


def test_a_template_an_app_overrides_goes_through_django(monkeypatch):
    """A project's own select.html wins over the written-out markup."""
    renderer = WidgetRenderer()
    real = renderer.get_template

    class Origin:
        name = "/srv/amparo/cases/templates/django/forms/widgets/select.html"

    class Override:
        origin = Origin()

        def render(self, context=None, request=None):
            return "<select>overridden</select>"

    monkeypatch.setattr(renderer, "get_template", lambda name: Override() if name.endswith(
        "/select.html") else real(name))
    field = forms.ChoiceField(choices=CHOICES)
    html = field.widget.render("one", "x", renderer=renderer)
    assert html == "<select>overridden</select>"
    text = forms.CharField().widget.render("t", "v", renderer=renderer)
    assert text == '<input type="text" name="t" value="v">'


def test_lazy_values_are_formatted_like_the_template_filter():
    lazy_str = lazy(lambda: TRICKY, str)()
    widget = forms.TextInput(attrs={"title": lazy_str})
    assert widget.render("t", lazy_str, renderer=WidgetRenderer()) == widget.render(
        "t", lazy_str, renderer=DjangoTemplates())
    assert widget_renderer._s(mark_safe("<b>")) == "<b>"
    assert widget_renderer._s("<b>") == "&lt;b&gt;"
