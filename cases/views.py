from __future__ import annotations

import uuid
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.contrib.auth.forms import AuthenticationForm, PasswordChangeForm
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Q
from django.forms import BaseForm
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from cases import (
    access,
    breaches,
    consent,
    events,
    handovers,
    listing,
    masking,
    office_queue,
    regional,
    retention,
    secure_messages,
    selectors,
    services,
    sessions,
    shares,
    subject_requests,
    uploads,
)
from cases import dashboard as dashboard_parts
from cases import sections as page_sections
from cases.crypto import datakeys
from cases.forms import (
    AssignForm,
    CaseListForm,
    DocumentForm,
    IdentityDocumentForm,
    LoginForm,
    NoteForm,
    OpenCaseForm,
    PersonForm,
    SearchForm,
    StyledPasswordChangeForm,
)
from cases.http import AuthedRequest, HtmxRequest, protect_file
from cases.intake import IdentityDocumentData
from cases.models import Case, Office, Person, Role
from cases.procedure_card import procedure_card_html
from cases.steps import add_service_errors, audited_get, case_staff_required
from cases.views_consent import ConsentForm


class LogoutView(auth_views.LogoutView):
    """Logging out also tells the browser to drop what it kept of the pages (cache and
    storage): a page left open or in the back history shows nothing of a case afterwards."""

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        response = super().post(request, *args, **kwargs)
        response["Clear-Site-Data"] = '"cache", "storage"'
        return response


class LoginView(auth_views.LoginView):
    redirect_authenticated_user = True
    authentication_form = LoginForm

    def form_valid(self, form: AuthenticationForm) -> HttpResponse:
        response = super().form_valid(form)
        if settings.LANGUAGE_COOKIE_NAME not in self.request.COOKIES:
            response.set_cookie(  # as Django's set_language view sets it
                settings.LANGUAGE_COOKIE_NAME, form.get_user().preferred_language,
                max_age=settings.LANGUAGE_COOKIE_AGE, path=settings.LANGUAGE_COOKIE_PATH,
                domain=settings.LANGUAGE_COOKIE_DOMAIN, secure=settings.LANGUAGE_COOKIE_SECURE,
                httponly=settings.LANGUAGE_COOKIE_HTTPONLY,
                samesite=settings.LANGUAGE_COOKIE_SAMESITE)  # type: ignore[arg-type]  # a str in settings
        return response


class PasswordChangeView(auth_views.PasswordChangeView):
    template_name = "registration/password_change.html"
    form_class = StyledPasswordChangeForm
    success_url = "/"

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        ctx = super().get_context_data(**kwargs)
        ctx["must_change"] = getattr(self.request.user, "must_change_password", False)
        return ctx

    def form_valid(self, form: PasswordChangeForm) -> HttpResponse:
        response = super().form_valid(form)
        services.password_changed(form.user)
        # The others no longer match the password's hash: their rows go too (docs/architecture.md#sessions).
        sessions.end_other_sessions(self.request, reason=sessions.PASSWORD)
        messages.success(self.request, _("Your password was changed."))
        return response


def _person(request: AuthedRequest, person_id: uuid.UUID, action: str) -> Person:
    return audited_get(selectors.get_person, request, person_id, action=action, object_type="cases.person")


def _case(request: AuthedRequest, case_id: uuid.UUID, action: str) -> Case:
    return audited_get(selectors.get_case, request, case_id, action=action, object_type="cases.case")


REFERENCE = selectors.CASE_REFERENCE


@login_required
def dashboard(request: AuthedRequest) -> HttpResponse:
    user = request.user
    held = access.roles_by_office(user)
    ctx: dict[str, Any] = {"held": held, "offices": selectors.user_offices(user)}
    if held.get(Role.CASEWORKER) or held.get(Role.SUPERVISOR):
        # The case list's own pages (each part of the scope walks its index): the newest 15.
        my_cases = selectors.case_list(user, show="mine", limit=15).cases
        queue = selectors.case_list(user, show="queue", limit=15).cases
        deadlines = dashboard_parts.deadlines(user)
        sections = dashboard_parts.sections(user)
        between = office_queue.summary(user)
        ctx.update(my_cases=my_cases, queue=queue, deadlines=deadlines, sections=sections,
                   office_queue=between, office_queue_any=any(p.total for p in between))
        shown = [*my_cases, *queue, *deadlines.cases, *(c for s in sections for c in s.cases)]
        datakeys.preload(list({c.principal_id for c in shown}))  # the queue shows no names
        shown += [r.case for p in between for r in p.rows]
        events.emit("case.list", actor=user, show="dashboard",
                    cases=list(dict.fromkeys(str(c.pk) for c in shown)))
        ctx["queue_count"] = selectors.bounded_count(selectors.unassigned_queue(user))
        if held.get(Role.CASEWORKER):
            ctx["open_count"] = selectors.bounded_count(
                selectors.my_cases(user).filter(closed_at__isnull=True))
    if "sections" not in ctx:  # the apps' parts for other roles (the auditor's, say)
        ctx["sections"] = dashboard_parts.sections(user)
    if held.get(Role.SUPERVISOR):
        ctx["workload"] = selectors.supervised_workload(user)
        ctx["duplicate_count"] = selectors.bounded_count(selectors.duplicate_queue(user))
        ctx["requests_open"], ctx["requests_overdue"] = subject_requests.open_counts(user)
        ctx["breaches_open"], ctx["breaches_overdue"] = breaches.open_counts(user)
        ctx["handovers_waiting"] = handovers.waiting_count(user)
    if held.get(Role.OFFICE_ADMIN):
        ctx["staff"] = selectors.administered_memberships(user)
    if held.get(Role.SYSTEM_ADMIN):
        ctx["all_offices"] = selectors.offices_overview(user)
    return render(request, "cases/dashboard.html", ctx)


@case_staff_required
def people_search(request: AuthedRequest) -> HttpResponse:
    # Only POST: names and document numbers must stay out of URLs, history and access logs.
    form = SearchForm(request.POST if request.method == "POST" else None)
    result = None
    if form.is_bound and form.is_valid():
        d = form.cleaned_data
        result = selectors.search_people(
            request.user, name=d["name"], document=d["document"],
            date_of_birth=d["date_of_birth"], sounds_like=d["sounds_like"],
            birth_year=d["birth_year"], sex=d["sex"],
        )
        # What was searched for, never the terms themselves.
        kinds = [k for k in ("name", "document", "date_of_birth", "birth_year", "sex") if d[k]]
        # Who was shown, person by person (ids only).
        events.emit("person.search", actor=request.user, kinds=kinds,
                    sounds_like=d["sounds_like"], results=len(result.people),
                    candidates=result.candidates, people=[str(p.pk) for p in result.people])
    recent = None
    if result is None:
        # Newest of the user's own offices first: walks the (office, created_at) index.
        offices = access.offices_where(request.user, *access.CASE_ROLES)
        recent = list(
            selectors.visible_people(request.user)
            .filter(erased_at__isnull=True, office__in=offices)
            .order_by("-created_at")[:20]
        )
        datakeys.preload([p.pk for p in recent])
        events.emit("person.list", actor=request.user, people=[str(p.pk) for p in recent])
    return render(request, "cases/people_search.html", {"form": form, "result": result, "recent": recent})


@case_staff_required
def person_create(request: AuthedRequest) -> HttpResponse:
    offices = selectors.user_offices(request.user, *access.CASE_ROLES)
    form = PersonForm(request.POST or None, offices=offices)
    if request.method == "POST" and form.is_valid():
        data = form.person_data()
        # Records this user may see are shown; the office's others are only queued for a
        # supervisor (docs/architecture.md#duplicates).
        duplicates = selectors.possible_duplicates(request.user, data)
        if duplicates and not request.POST.get("register_anyway"):
            return render(request, "cases/person_form.html", {
                "form": form, "creating": True, "duplicates": duplicates}, status=409)
        try:
            person = services.register_person(
                by=request.user, office=form.cleaned_data["office"], data=data,
                check_duplicates=True, seen=[p.pk for p in duplicates],
            )
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, _("Person registered."))
            if selectors.flagged_unseen(person):
                messages.info(request, _(
                    "Another record of this office may be the same person. A supervisor will "
                    "review the two records."))
            return redirect("person_detail", person_id=person.pk)
    return render(request, "cases/person_form.html", {"form": form, "creating": True})


@login_required
def person_detail(request: AuthedRequest, person_id: uuid.UUID) -> HttpResponse:
    person = _person(request, person_id, "person.view")
    return _person_page(request, person)


@login_required
@require_POST
def person_reveal(request: HtmxRequest, person_id: uuid.UUID) -> HttpResponse:
    """One masked value in clear, for who may see the person (docs/architecture.md#masked-values):
    the value alone for htmx, else the person page with that value shown. Audited with the
    kind of value, never the value."""
    person = _person(request, person_id, "person.reveal")
    key = request.POST.get("field", "")
    item = None if person.erased_at else masking.person_value(person, key, revealed=key)
    if item is None:
        events.emit("person.reveal", actor=request.user, obj=person, outcome="denied",
                    field=masking.kind_of(key))
        raise Http404("No such value.")
    if item.kind == "document":  # which document: its id
        events.emit("person.reveal", actor=request.user, obj=person, field=item.kind,
                    document=key.removeprefix(masking.DOCUMENT))
    else:
        events.emit("person.reveal", actor=request.user, obj=person, field=item.kind)
    if request.htmx:
        return render(request, "cases/_masked.html", {"person": person, "item": item})
    return _person_page(request, person, revealed=key)


def _person_page(request: AuthedRequest, person: Person, *, revealed: str = "") -> HttpResponse:
    events.emit("person.view", actor=request.user, obj=person)
    cases = selectors.as_listed(selectors.visible_cases(request.user).filter(participants__person=person))
    # The forms used now and then (an identity document, a data request) are pages of their own, opened
    # from a link: not rendered on every view (docs/architecture.md#speed).
    return render(request, "cases/person_detail.html", {
        "person": person,
        "revealed": revealed,
        "documents": person.documents.order_by("document_type", "pk"),
        "cases": cases,
        "can_edit": selectors.can_edit_person(request.user, person) and not person.restricted_at,
        "can_open_case": (selectors.can_register(request.user, person.office) and not person.erased_at
                          and not person.restricted_at),
        "open_form": OpenCaseForm(),
        "requests": subject_requests.person_requests(person)[:10],
        "consent_rows": consent.rows(person),
        "consent_form": ConsentForm() if selectors.can_edit_person(request.user, person)
        and not person.erased_at else None,
        "handles_requests": not person.erased_at and subject_requests.handles(request.user, person),
        "may_hold": retention.may_hold(request.user, person),
        "may_ask_region": regional.may_ask(request.user, person),
        # Sealed with the office's key: for the office's supervisors and auditors.
        "erasure_note": (person.erasure_note
                         if selectors.can_read_erasure_note(request.user, person) else None),
        "linked": selectors.linked_people(request.user, person),
        "pairs_to_review": selectors.duplicate_queue(request.user)
                          .filter(Q(person=person) | Q(other=person)).exists(),
        "sections": page_sections.render(request, "person", person),
    })


def _person_form(request: HtmxRequest, person: Person, form: BaseForm, *, kind: str,
                 status: int = 200) -> HttpResponse:
    """The page of one of the person page's forms, or the form alone for htmx to show in
    place. The page names the person: recorded as a view; the form alone shows nothing of
    them."""
    ctx = {"person": person, "form": form, "kind": kind}
    if request.htmx:
        return render(request, "cases/_person_action_form.html", ctx, status=status)
    events.emit("person.view", actor=request.user, obj=person)
    return render(request, "cases/person_action.html", ctx, status=status)


@login_required
def person_edit(request: AuthedRequest, person_id: uuid.UUID) -> HttpResponse:
    person = _person(request, person_id, "person.view")
    if not selectors.can_edit_person(request.user, person):
        raise PermissionDenied(_("You cannot change this person's record."))
    offices = Office.objects.filter(pk=person.office_id)
    doc = person.documents.order_by("document_type", "pk").first()
    initial = {
        "office": person.office, "given_names": person.given_names,
        "family_names": person.family_names, "aliases": "; ".join(person.aliases or []),
        "date_of_birth": person.date_of_birth, "sex": person.sex,
        "nationalities": person.nationalities, "languages": person.languages,
        "phone": person.phone, "email": person.email, "address": person.address,
        "specific_needs": person.specific_needs,
        "document_type": doc.document_type if doc else "",
        "document_number": doc.number if doc else "",
        "document_country": doc.issuing_country.code if doc and doc.issuing_country else "",
    }
    form = PersonForm(request.POST or None, offices=offices, initial=initial)
    if request.method == "POST" and form.is_valid():
        data = form.person_data()
        if doc is not None and data.documents:
            data.documents[0].id = doc.pk  # the document shown in the form; others are kept
        try:
            services.update_person(by=request.user, person=person, data=data,
                                   reason=form.cleaned_data["reason"])
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, _("Changes saved."))
            return redirect("person_detail", person_id=person.pk)
    # The form shows every value of the record: recorded as a view of the person.
    events.emit("person.view", actor=request.user, obj=person)
    return render(request, "cases/person_form.html", {"form": form, "person": person})


@login_required
@require_http_methods(["GET", "POST"])
def identity_document_add(request: HtmxRequest, person_id: uuid.UUID) -> HttpResponse:
    posted = request.method == "POST"
    person = _person(request, person_id, "person.add_document" if posted else "person.view")
    if not selectors.can_edit_person(request.user, person):
        raise PermissionDenied(_("You cannot change this person's record."))
    form = IdentityDocumentForm(request.POST if posted else None)
    if not posted:
        return _person_form(request, person, form, kind="document")
    if form.is_valid():
        d = form.cleaned_data
        try:
            services.add_identity_document(by=request.user, person=person, item=IdentityDocumentData(
                d["document_type"], d["document_number"], d["document_country"]))
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, _("Identity document added."))
            return redirect("person_detail", person_id=person.pk)
    return _person_form(request, person, form, kind="document", status=400)


@login_required
@require_POST
def case_open(request: AuthedRequest, person_id: uuid.UUID) -> HttpResponse:
    person = _person(request, person_id, "case.open")
    form = OpenCaseForm(request.POST)
    if form.is_valid():
        try:
            case = services.open_case(by=request.user, person=person,
                                      kind=form.cleaned_data["kind"],
                                      assign_to_me=form.cleaned_data["assign_to_me"])
        except ValidationError as exc:
            messages.error(request, " ".join(exc.messages))
            return redirect("person_detail", person_id=person.pk)
        messages.success(request, _("Case %(ref)s opened.") % {"ref": case.reference})
        return redirect("case_detail", case_id=case.pk)
    messages.error(request, _("Choose the kind of case."))
    return redirect("person_detail", person_id=person.pk)


@case_staff_required
def case_list(request: AuthedRequest) -> HttpResponse:
    reference = request.GET.get("reference", "").strip().upper()[:40]
    if reference and not REFERENCE.fullmatch(reference):
        # Never recorded: whatever was typed here (a name, say) stays out of the audit log.
        messages.warning(request, _("That is not a case reference (such as BZ-BMP-2026-000042)."))
    elif reference:
        found = selectors.case_by_reference(request.user, reference)
        if found is not None:
            return redirect("case_detail", case_id=found.pk)
        # Not found and not shown are the same answer; the look-up itself is recorded.
        events.emit("case.view", actor=request.user, outcome="denied", object_type="cases.case",
                    object_id="", reference=reference)
        messages.warning(request, _("None of the cases you may see has the reference %(ref)s.")
                         % {"ref": reference})
    show = request.GET.get("show", "mine")
    if show not in ("queue", "all"):
        show = "mine"
    form = CaseListForm(request.GET, choices=selectors.case_list_choices(request.user), show=show)
    after = request.GET.get("after", "")
    page = selectors.case_list(request.user, show=form.show, after=after, limit=selectors.LIST_PAGE,
                               filters=form.filters, sort=form.order)
    datakeys.preload([c.principal_id for c in page.cases])
    # The filters as validated codes only: never what was typed.
    events.emit("case.list", actor=request.user, show=form.show, later_page=bool(after),
                sort=form.order, filters=form.codes, cases=[str(c.pk) for c in page.cases])
    return render(request, "cases/case_list.html", {
        "cases": page.cases, "next": page.next, "later_page": bool(after), "show": form.show,
        "form": form, "choices": form.choices, "query": form.query,
        "due_column": form.order == listing.DEADLINE})


def _case_page(request: AuthedRequest, case: Case, **forms: BaseForm) -> HttpResponse:
    user = request.user
    # Also when the page comes back with a form's errors: every showing is a recorded view.
    events.emit("case.view", actor=user, obj=case)
    ctx = {
        "case": case,
        "participants": selectors.case_people(case),
        "notes": selectors.case_notes(user, case),
        "documents": selectors.case_documents(user, case),
        "parts": access.case_parts(user, case),
        "shares": shares.current(case) if access.can_assign(user, case) else [],
        "my_share": (None if access.case_parts(user, case) == access.ALL_PARTS
                     else shares.mine(user, case)),
        "can_edit": (access.can_edit_case(user, case) and not case.principal.erased_at
                     and not case.principal.restricted_at),
        "can_assign": access.can_assign(user, case),
        "can_take": access.can_take(user, case),
        "note_form": forms.get("note_form") or NoteForm(),
        "document_form": forms.get("document_form") or DocumentForm(),
        "procedure": procedure_card_html(case, user),
        "message_card": secure_messages.case_card(user, case),
        "sections": page_sections.render(request, "case", case),
    }
    if ctx["can_assign"]:
        ctx["assign_form"] = forms.get("assign_form") or AssignForm(
            staff=selectors.assignable_staff(case), initial={"assignee": case.assigned_to}
        )
    # A form sent back with errors sits low on a long page: the top of the page says where.
    sections = {"note_form": "notes", "document_form": "documents", "assign_form": "assignment"}
    ctx["failed_section"] = next((sections[k] for k, f in forms.items() if f.errors), "")
    status = 400 if forms else 200
    return render(request, "cases/case_detail.html", ctx, status=status)


@login_required
def case_detail(request: AuthedRequest, case_id: uuid.UUID) -> HttpResponse:
    case = _case(request, case_id, "case.view")
    return _case_page(request, case)


@login_required
@require_POST
def case_assign(request: AuthedRequest, case_id: uuid.UUID) -> HttpResponse:
    case = _case(request, case_id, "case.assign")
    if not access.can_assign(request.user, case):
        raise PermissionDenied(_("Only a supervisor of this office can assign its cases."))
    form = AssignForm(request.POST, staff=selectors.assignable_staff(case))
    if form.is_valid():
        services.assign_case(by=request.user, case=case, assignee=form.cleaned_data["assignee"],
                             reason=form.cleaned_data["reason"])
        messages.success(request, _("Assignment saved."))
        return redirect("case_detail", case_id=case.pk)
    return _case_page(request, case, assign_form=form)


@login_required
@require_POST
def case_take(request: AuthedRequest, case_id: uuid.UUID) -> HttpResponse:
    case = _case(request, case_id, "case.take")
    try:
        services.take_case(by=request.user, case=case)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(request, _("The case is now yours."))
    return redirect("case_detail", case_id=case.pk)


@login_required
@require_POST
def note_add(request: AuthedRequest, case_id: uuid.UUID) -> HttpResponse:
    case = _case(request, case_id, "note.add")
    form = NoteForm(request.POST)
    if form.is_valid():
        try:
            services.add_note(by=request.user, case=case, text=form.cleaned_data["text"])
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, _("Note added."))
            return redirect("case_detail", case_id=case.pk)
    return _case_page(request, case, note_form=form)


@login_required
@require_POST
def document_upload(request: AuthedRequest, case_id: uuid.UUID) -> HttpResponse:
    case = _case(request, case_id, "document.add")
    if not access.can_edit_case(request.user, case):
        raise PermissionDenied(_("You cannot add documents to this case."))
    form = DocumentForm(request.POST, request.FILES)
    if uploads.request_too_large(request.META):
        form.is_valid()
        form.errors.pop("file", None)
        form.add_error("file", uploads.too_large_message())
    elif form.is_valid():
        upload = form.cleaned_data["file"]
        try:
            services.add_document(by=request.user, case=case, title=form.cleaned_data["title"],
                                  filename=upload.name, data=upload.read())
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, _("Document stored."))
            return redirect("case_detail", case_id=case.pk)
    return _case_page(request, case, document_form=form)


@login_required
def document_download(request: AuthedRequest, case_id: uuid.UUID,
                      document_id: uuid.UUID) -> HttpResponse:
    try:
        document = selectors.get_document(request.user, case_id, document_id)
    except Http404:
        events.emit("document.download", actor=request.user, outcome="denied",
                    object_type="cases.document", object_id=str(document_id), case=str(case_id))
        raise
    # Logged before the bytes are read: a download that cannot be recorded does not happen.
    events.emit("document.download", actor=request.user, obj=document,
                office_id=document.case.office_id, case=str(case_id))
    try:
        data = services.read_document(by=request.user, document=document)
    except datakeys.KeyDestroyed:
        return HttpResponse(_("This document was erased with its person's data."), status=410,
                            content_type="text/plain; charset=utf-8")
    response = HttpResponse(data, content_type=document.content_type)
    # Only a photo is shown in the browser: browsers' PDF viewers do not open in the sandbox
    # every file is served in, so a PDF is always downloaded.
    shown = bool(request.GET.get("inline")) and document.content_type.startswith("image/")
    # Named by the case and the upload time: the original file name may name the person.
    name = (f"{document.case.reference}-{timezone.localtime(document.created_at):%Y%m%d-%H%M%S}"
            f"{_ext(document.content_type)}")
    response["Content-Disposition"] = f'{"inline" if shown else "attachment"}; filename="{name}"'
    protect_file(response)
    return response


def _ext(content_type: str) -> str:
    return {"application/pdf": ".pdf", "image/jpeg": ".jpg", "image/png": ".png",
            "image/tiff": ".tif", "image/webp": ".webp"}.get(content_type, "")


