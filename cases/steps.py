"""Step pages: the framework every procedure app uses for its step forms
(docs/architecture.md#step-pages).

An app describes one `StepPage` per transition (its form, the service it calls, what it shows
of the case above the form), registers them under its step URL name, and routes that URL to
`step_view`. The framework does the rest the same way for every procedure: the audited look-up
of the case, only the steps the user may take now, the step number the form was opened at
(a form opened before someone else's step is told so and records nothing), refusals recorded
and shown, service errors put back onto the form.
"""

from __future__ import annotations

import functools
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, TypeVar

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBase
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy

from cases import access, events, workflow
from cases.forms import Styled
from cases.models import Case, User

T = TypeVar("T")
View = Callable[..., HttpResponseBase]


# --- Helpers every page uses ------------------------------------------------------------

def audited_get(getter: Callable[[Any, Any], T], request: HttpRequest, object_id: Any, *,
                action: str, object_type: str) -> T:
    """Fetch through a scoping selector (a 404 when out of scope); a refused look-up is
    recorded as `action` with the outcome "denied"."""
    try:
        return getter(request.user, object_id)
    except Http404:
        events.emit(action, actor=request.user, outcome="denied", object_type=object_type,
                    object_id=str(object_id))
        raise


def add_service_errors(form: forms.BaseForm, exc: ValidationError) -> None:
    """A service's ValidationError onto the form: beside its field when it names one."""
    if hasattr(exc, "error_dict"):
        for field, errs in exc.error_dict.items():
            form.add_error(field if field in form.fields else None, errs)
    else:
        form.add_error(None, exc)


class RoleRequired(PermissionDenied):
    """The user holds none of the roles a page needs (recorded as such: audit/refusals.py)."""


def role_required(*roles: str, message: str | Promise) -> Callable[[View], View]:
    """Log in first; then only users holding one of `roles` in some office (403 with
    `message` for others). What they may do in which office stays the view's question.
    Put it under the method decorators (require_POST ...): a wrong method answers 405 first."""
    def decorate(view: View) -> View:
        @functools.wraps(view)
        def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
            if not access.has_role(request.user, *roles):  # type: ignore[arg-type]
                raise RoleRequired(str(message))
            return view(request, *args, **kwargs)
        return login_required(wrapped)
    return decorate


case_staff_required = role_required(
    *access.CASE_ROLES, message=gettext_lazy("Only caseworkers and supervisors work with case files."))


# --- The pages of a procedure ----------------------------------------------------------

@dataclass
class Step:
    """The step a page is about: the case, its procedure, the transition and its form."""

    request: HttpRequest
    case: Case
    wf: workflow.Workflow
    transition: workflow.Transition
    form: Any = None
    _reads: dict[str, Any] = field(default_factory=dict, repr=False)

    @property
    def name(self) -> str:
        return self.transition.name

    @property
    def user(self) -> User:
        return self.request.user  # type: ignore[return-value]  # step pages need a login

    @property
    def expected(self) -> int:
        """The step number the form was opened at."""
        return int(self.form.cleaned_data["expected_step"])

    def once(self, key: str, read: Callable[[], T]) -> T:
        """`read()` the first time a page asks for `key`; the same value after that (the form
        and what the page shows above it often need one record)."""
        if key not in self._reads:
            self._reads[key] = read()
        return self._reads[key]  # type: ignore[no-any-return]  # stored by this method as T

    def initial(self, **values: Any) -> dict[str, Any]:
        """A form's initial values, with the step number it is opened at."""
        return {"expected_step": self.case.step_no, **values}


FormMaker = Callable[[Step, Any], forms.Form]
# Takes the step; returns the success message and where to go next ("" for the case page).
Runner = Callable[[Step, Any], tuple[str, str]]


def _nothing(step: Step) -> dict[str, Any]:
    return {}


@dataclass(frozen=True)
class StepPage:
    form: FormMaker
    run: Runner
    show: Callable[[Step], dict[str, Any]] = _nothing
    partial: str = ""  # template of what the page shows of the case above the form
    buttons: tuple[tuple[str, Any], ...] = ()  # extra submit buttons (name, label)


class StepForm(Styled, forms.Form):
    """Every step's form carries the step number the user was looking at."""

    expected_step = forms.IntegerField(widget=forms.HiddenInput, min_value=0)


_pages: dict[str, Mapping[str, StepPage]] = {}


def register_pages(step_url: str, pages: Mapping[str, StepPage]) -> None:
    """The pages of the procedures whose `options.step_url` is `step_url`."""
    _pages[step_url] = pages


def pages_for(step_url: str) -> Mapping[str, StepPage]:
    return _pages.get(step_url, {})


def _check_allowed(step: Step, *, record: bool) -> HttpResponse | None:
    """None when this user may take this step now. Who may not act gets 403 with the engine's
    reason; a step the case is not at (or not yet at) sends them back to the case page with
    the reason: the case moved on, the user did nothing wrong."""
    error = workflow.refusal_error(step.case, step.transition, step.user)
    if error is None:
        return None
    if record:  # a refused attempt stays on the record, as when the engine refuses it
        events.emit("case.transition", actor=step.user, obj=step.case, outcome="denied",
                    transition=step.name, state=step.case.state)
    if isinstance(error, ValidationError):
        messages.warning(step.request, " ".join(error.messages))
        return redirect("case_detail", case_id=step.case.pk)
    raise error


def _render(step: Step, page: StepPage, form: forms.Form, template: str,
            status: int = 200) -> HttpResponse:
    # The page shows the case's content: every showing is a recorded view.
    events.emit("case.view", actor=step.user, obj=step.case, step=step.name)
    ctx = {"case": step.case, "workflow": step.wf, "transition": step.transition, "form": form,
           "partial": page.partial, "buttons": page.buttons,
           "state_label": step.wf.state(step.case.state).label, **page.show(step)}
    return render(step.request, template, ctx, status=status)


def _posted_step(data: Mapping[str, Any]) -> int | None:
    try:
        return int(data.get("expected_step", ""))
    except (TypeError, ValueError):
        return None


CaseGetter = Callable[[HttpRequest, uuid.UUID, str], Case]


def step_view(*, step_url: str, get_case: CaseGetter, template: str = "cases/step.html") -> View:
    """The view of the step pages registered under `step_url`: GET shows the form of step
    `name`, POST takes it; only the steps the user may take now. `get_case(request, case_id,
    action)` is the app's audited look-up (a 404 for cases it does not handle)."""

    @login_required
    def view(request: HttpRequest, case_id: uuid.UUID, name: str) -> HttpResponse:
        post = request.method == "POST"
        case = get_case(request, case_id, "case.transition" if post else "case.view")
        wf = workflow.for_case(case)
        page = pages_for(step_url).get(name)
        if wf is None or page is None or name not in wf.transitions:
            raise Http404("No such step in this case's procedure.")
        current = Step(request=request, case=case, wf=wf, transition=wf.transitions[name])
        if not post:
            refused = _check_allowed(current, record=False)
            if refused is not None:
                return refused
            return _render(current, page, page.form(current, None), template)

        posted = _posted_step(request.POST)
        # A form opened before someone else's step: the service says so (nothing is
        # recorded), instead of a refusal about a state the user has not seen yet.
        stale = posted is not None and posted != case.step_no
        if not stale or not access.can_edit_case(current.user, case):
            refused = _check_allowed(current, record=True)
            if refused is not None:
                return refused
        form = page.form(current, request.POST)
        current.form = form
        status = 400
        if form.is_valid():
            try:
                message, url = page.run(current, form)
            except ValidationError as exc:
                add_service_errors(form, exc)
                if stale:
                    status = 409
            else:
                messages.success(request, message)
                return redirect(url or reverse("case_detail", args=[case.pk]))
        return _render(current, page, form, template, status=status)

    return view
