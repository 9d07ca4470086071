from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any, cast
from urllib.parse import urlencode

from django import forms
from django.contrib.auth.forms import AuthenticationForm, PasswordChangeForm
from django.core.exceptions import ValidationError
from django.db.models import QuerySet
from django.http import QueryDict
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _

from cases import access, events, intake, listing, lockout, passwords, texts
from cases.intake import EARLIEST_BIRTH, MAX_LENGTH, IdentityDocumentData, PersonData
from cases.models import (
    BreachNature,
    BreachRisk,
    BreachStatus,
    CaseKind,
    DocumentType,
    ErasureCode,
    Office,
    Organisation,
    RequestChannel,
    RequestKind,
    Sex,
    SharingAgreement,
    SpecificNeed,
    TransferChannel,
    User,
)
from cases.vocab import LANGUAGE_CODES, country_choices, language_choices  # noqa: F401  (re-exported)


def split_list(value: str) -> list[str]:
    return [v.strip() for v in value.split(";") if v.strip()]


if TYPE_CHECKING:
    # A mixin for forms: what it uses of them is BaseForm's.
    _FormBase = forms.BaseForm
else:
    _FormBase = object


class RecordsInvalid(_FormBase):
    """A bound form that fails its checks on a page is an audit event (`form.invalid`): the
    form, and per field the error codes; never a submitted value (docs/architecture.md#audit).
    Forms used outside a request (commands, the importer) and anonymous visitors (the login
    page, whose failures have their own events) record nothing."""

    def full_clean(self) -> None:
        super().full_clean()
        if not self.is_bound or not self.errors or events.current_request() is None:
            return
        actor = events.current_actor()
        if actor is None:
            return
        fields = {name: sorted({e.code or "invalid" for e in errors})
                  for name, errors in self.errors.as_data().items()}
        offices: set[int] = set().union(*access.roles_by_office(actor).values())
        # Kept back until the request ends when a transaction is open, so its rollback does
        # not take the record with it.
        events.record_refusal(
            "form.invalid", actor=actor, office_id=next(iter(offices)) if len(offices) == 1 else None,
            form=f"{type(self).__module__}.{type(self).__qualname__}", fields=fields)


class Styled(RecordsInvalid):
    """Give widgets Bootstrap classes and mark invalid fields for assistive technology."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for field in self.fields.values():
            w = field.widget
            if isinstance(w, forms.CheckboxSelectMultiple | forms.RadioSelect):
                continue
            if isinstance(w, forms.CheckboxInput):
                css = "form-check-input"
            elif isinstance(w, forms.Select | forms.SelectMultiple):
                css = "form-select"
            else:
                css = "form-control"
            w.attrs["class"] = css
        # Errors are marked in full_clean: validating here would run before subclasses set
        # their querysets (office, assignee) and reject every choice.

    def full_clean(self) -> None:
        super().full_clean()
        for name in self.errors:
            if name in self.fields and "class" in self.fields[name].widget.attrs:
                attrs = self.fields[name].widget.attrs
                if "is-invalid" not in attrs["class"]:
                    attrs["class"] += " is-invalid"
                    attrs["aria-invalid"] = "true"
                    attrs["aria-describedby"] = f"id_{name}_error"


_options: dict[tuple[str, str], SafeString] = {}


class CachedOptions(forms.Select):
    """A select whose options are rendered once per language and list (`list_name`)
    and reused, the chosen ones marked by replacing their tag (docs/architecture.md#speed).
    Its choices are a list built once per language (cases.vocab)."""

    template_name = "cases/widgets/cached_select.html"

    def __init__(self, list_name: str, attrs: dict[str, Any] | None = None) -> None:
        super().__init__(attrs)
        self.list_name = list_name

    def optgroups(self, name: str, value: Any, attrs: dict[str, Any] | None = None) -> Any:
        return []  # rendered by options_html

    def options_html(self, value: list[str]) -> SafeString:
        key = (self.list_name, get_language() or "")
        html = _options.get(key)
        if html is None:
            html = _options[key] = format_html_join(
                "", '<option value="{}">{}</option>', ((v, label) for v, label in self.choices))
        for v in value:
            if v is None:
                continue
            tag = format_html('<option value="{}">', v)
            html = mark_safe(html.replace(tag, f'{tag[:-1]} selected>', 1))  # noqa: S308
        return html

    def get_context(self, name: str, value: Any, attrs: dict[str, Any] | None) -> dict[str, Any]:
        context = super().get_context(name, value, attrs)
        context["widget"]["options_html"] = self.options_html(context["widget"]["value"])
        return context


class CachedOptionsMultiple(CachedOptions, forms.SelectMultiple):
    pass


def cached_choices(field: forms.Field, choices: list[tuple[str, str]]) -> None:
    """Give a field built with a CachedOptions widget its choices (the list of this language)."""
    cast(forms.ChoiceField, field).choices = choices


class DateInput(forms.DateInput):
    input_type = "date"

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(format="%Y-%m-%d", **kwargs)


def add_intake_errors(form: forms.Form, exc: ValidationError) -> None:
    """Show the errors of cases.intake on a form: each on its field unless that field has one
    already, on the form as a whole if the form has no such field."""
    for name, errors in exc.error_dict.items():
        if name not in form.fields:
            form.add_error(None, errors)
        elif not form.has_error(name):
            form.add_error(name, errors)


class PersonForm(Styled, forms.Form):
    office = forms.ModelChoiceField(queryset=Office.objects.none(), label=_("Office"))
    given_names = forms.CharField(label=_("Given names"), max_length=MAX_LENGTH["given_names"])
    family_names = forms.CharField(label=_("Family names"), max_length=MAX_LENGTH["family_names"])
    aliases = forms.CharField(
        label=_("Aliases"), required=False, max_length=MAX_LENGTH["aliases"],
        help_text=_("Other names this person is known by, separated by ';'."),
    )
    date_of_birth = forms.DateField(label=_("Date of birth"), required=False, widget=DateInput())
    sex = forms.ChoiceField(label=_("Sex"), choices=Sex.choices, initial=Sex.UNKNOWN)
    nationalities = forms.MultipleChoiceField(
        label=_("Nationalities"), choices=[], required=False,
        help_text=_("Hold Ctrl (or Cmd) to choose several; none for a stateless person."),
        widget=CachedOptionsMultiple("countries"),
    )
    languages = forms.MultipleChoiceField(label=_("Languages"), choices=[], required=False,
                                          widget=CachedOptionsMultiple("languages"))
    phone = forms.CharField(label=_("Phone"), required=False, max_length=MAX_LENGTH["phone"])
    email = forms.EmailField(label=_("Email"), required=False)
    address = forms.CharField(label=_("Address"), required=False, max_length=MAX_LENGTH["address"],
                              widget=forms.Textarea(attrs={"rows": 2}))
    specific_needs = forms.MultipleChoiceField(
        label=_("Specific needs"), choices=SpecificNeed.choices, required=False,
        widget=forms.CheckboxSelectMultiple,
    )
    document_type = forms.ChoiceField(
        label=_("Document type"), choices=[("", "—"), *DocumentType.choices], required=False
    )
    document_number = forms.CharField(label=_("Document number"), required=False,
                                      max_length=MAX_LENGTH["document_number"])
    document_country = forms.ChoiceField(label=_("Issued by"), choices=[], required=False,
                                         widget=CachedOptions("countries-or-none"))
    # Shown when a record is edited; kept, sealed, with its history.
    reason = forms.CharField(label=_("Reason for the change"), required=False, max_length=texts.SHORT)

    def __init__(self, *args: Any, offices: QuerySet[Office] | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        office = cast("forms.ModelChoiceField[Office]", self.fields["office"])
        office.queryset = offices if offices is not None else Office.objects.none()
        if offices is not None and offices.count() == 1:
            office.initial = offices.first()
        cached_choices(self.fields["nationalities"], country_choices())
        cached_choices(self.fields["document_country"], [("", "—"), *country_choices()])
        cached_choices(self.fields["languages"], language_choices())

    def clean(self) -> dict[str, Any]:
        data = cast("dict[str, Any]", super().clean())  # BaseForm.clean: cleaned_data
        office = data.get("office")
        # The rules are the services' (cases.intake): checked here too, to show every error
        # next to its field at once.
        try:
            self._person = intake.clean_person(
                self._raw_person_data(), country=office.country.code if office else "")
        except ValidationError as exc:
            add_intake_errors(self, exc)
        return data

    def _raw_person_data(self) -> PersonData:
        d = self.cleaned_data
        docs: list[IdentityDocumentData] = []
        if d.get("document_number") or d.get("document_type"):
            docs.append(IdentityDocumentData(d.get("document_type", ""),
                                             d.get("document_number", ""),
                                             d.get("document_country", "")))
        return PersonData(
            given_names=d.get("given_names", ""), family_names=d.get("family_names", ""),
            sex=d.get("sex") or Sex.UNKNOWN, date_of_birth=d.get("date_of_birth"),
            aliases=split_list(d.get("aliases", "")), nationalities=d.get("nationalities", []),
            languages=d.get("languages", []), phone=d.get("phone", ""), email=d.get("email", ""),
            address=d.get("address", ""), specific_needs=d.get("specific_needs", []),
            documents=docs,
        )

    def person_data(self) -> PersonData:
        """The person's data as the rules left it (the phone number in E.164); valid forms only."""
        return self._person


class OpenCaseForm(Styled, forms.Form):
    kind = forms.ChoiceField(label=_("Kind of case"), choices=CaseKind.choices)
    assign_to_me = forms.BooleanField(label=_("Assign to me"), required=False, initial=True)


class SearchForm(Styled, forms.Form):
    name = forms.CharField(label=_("Name"), required=False, max_length=200)
    document = forms.CharField(label=_("Document number"), required=False, max_length=60)
    date_of_birth = forms.DateField(label=_("Date of birth"), required=False, widget=DateInput())
    sounds_like = forms.BooleanField(label=_("Names that sound alike"), required=False)
    # Narrow a common name without decrypting everyone called García.
    birth_year = forms.IntegerField(label=_("Year of birth"), required=False, min_value=EARLIEST_BIRTH.year,
                                    max_value=2100)
    sex = forms.ChoiceField(label=_("Sex"), choices=[("", "—"), *Sex.choices], required=False)

    def clean(self) -> dict[str, Any]:
        data = cast("dict[str, Any]", super().clean())  # BaseForm.clean: cleaned_data
        if not (data.get("name") or data.get("document") or data.get("date_of_birth")) and not self.errors:
            raise ValidationError(_("Enter a name, a document number or a date of birth."))
        return data


class NoteForm(Styled, forms.Form):
    text = forms.CharField(label=_("Note"), widget=forms.Textarea(attrs={"rows": 3}), max_length=texts.NOTE)


class DocumentForm(Styled, forms.Form):
    title = forms.CharField(label=_("Title"), required=False, max_length=200)
    file = forms.FileField(label=_("File"), help_text=_("PDF or photo (JPEG, PNG, TIFF, WebP)."))


class AssignForm(Styled, forms.Form):
    assignee: forms.ModelChoiceField[User] = forms.ModelChoiceField(
        label=_("Assign to"), queryset=None, required=False, empty_label=_("— office queue —")
    )
    reason = forms.CharField(label=_("Reason"), required=False, max_length=texts.SHORT)

    def __init__(self, *args: Any, staff: QuerySet[User] | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        cast("forms.ModelChoiceField[User]", self.fields["assignee"]).queryset = staff


class SubjectRequestForm(Styled, forms.Form):
    kind = forms.ChoiceField(label=_("The person asks for"), choices=[("", "—"), *RequestKind.choices])
    channel = forms.ChoiceField(label=_("How the request came"), choices=RequestChannel.choices)
    received_on = forms.DateField(label=_("Received on"), widget=DateInput())
    legal_basis = forms.ChoiceField(
        label=_("Legal basis (erasure only)"), required=False,
        choices=[("", "—"), *ErasureCode.choices])
    details = forms.CharField(
        label=_("What the person asks"), required=False, max_length=texts.NOTE,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("For a correction: what is wrong and what it should be. For an erasure: "
                    "the reference of the request or decision (at most 500 characters; kept, "
                    "sealed with the office's key, after the erasure). Sealed with the "
                    "person's key."))


class RequestAnswerForm(Styled, forms.Form):
    answer = forms.CharField(
        label=_("Answer"), required=False, max_length=texts.NOTE,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("What was done, or why the request is refused (needed for a refusal)."))
    confirm = forms.BooleanField(
        label=_("I understand that this person's data will be unreadable for ever."),
        required=False)


class LiftRestrictionForm(Styled, forms.Form):
    reason = forms.CharField(label=_("Why the restriction ends"), max_length=texts.NOTE,
                             widget=forms.Textarea(attrs={"rows": 2}))


class IdentityDocumentForm(Styled, forms.Form):
    document_type = forms.ChoiceField(label=_("Document type"), choices=DocumentType.choices)
    document_number = forms.CharField(label=_("Document number"), max_length=60)
    document_country = forms.ChoiceField(label=_("Issued by"), choices=[], required=False,
                                         widget=CachedOptions("countries-or-none"))

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        cached_choices(self.fields["document_country"], [("", "—"), *country_choices()])


class LoginForm(Styled, AuthenticationForm):
    def confirm_login_allowed(self, user: User) -> None:
        super().confirm_login_allowed(user)
        if passwords.temporary_expired(user):
            # Only after the right password: whoever asks knows it already.
            passwords.refuse_expired(user)
            raise ValidationError(passwords.expired_message(), code="temporary_expired")

    def get_invalid_login_error(self) -> ValidationError:
        lock: lockout.Lock | None = getattr(self.request, "login_locked", None)
        if lock is None:
            return super().get_invalid_login_error()
        if lock.scope == lockout.ADDRESS:
            message = _("Too many failed logins from this address: try again in %(minutes)d "
                        "minutes.")
        else:
            message = _("Too many failed attempts: this account is locked for %(minutes)d minutes.")
        return ValidationError(message % {"minutes": lock.minutes_left()}, code="locked")


class StyledPasswordChangeForm(Styled, PasswordChangeForm):
    pass


# The assignee filter of the case list: "me" and "none" are its tabs "mine" and "queue".
ME, UNASSIGNED = "me", "none"
_TAB_OF = {ME: "mine", UNASSIGNED: "queue", "": "all"}
_SMALL_SELECT = {"class": "form-select form-select-sm"}


class CaseListForm(RecordsInvalid, forms.Form):
    """The case list's filters and order, sent by GET (cases/listing.py).

    A value that is not among the user's choices is dropped, alone: that filter falls back to
    its default. Nothing here widens what the user sees; selectors.case_list applies the
    filters inside the user's scope. After construction: `show`, `filters`, `order`, `codes`
    (what the audit event records), `pairs` and `query` (the whole list, for its links),
    `filter_query` (without the tab) and `active` (how many filters are set)."""

    kind = forms.ChoiceField(label=_("Kind of case"), required=False)
    state = forms.ChoiceField(label=_("State"), required=False)
    procedure = forms.ChoiceField(label=_("Procedure"), required=False)
    assignee = forms.CharField(label=_("Assigned to"), required=False, max_length=12)
    deadline = forms.ChoiceField(label=_("Deadline"), required=False)
    office = forms.ChoiceField(label=_("Office"), required=False)
    flag = forms.MultipleChoiceField(label=_("Only cases marked"), required=False)
    sort = forms.ChoiceField(label=_("Sort by"), required=False)

    def __init__(self, data: QueryDict, *, choices: listing.ListChoices, show: str) -> None:
        data = data.copy()
        if "assignee" not in data:  # a tab's link: the tab says whose cases
            data["assignee"] = {"mine": ME, "queue": UNASSIGNED}.get(show, "")
        super().__init__(data)
        self.choices = choices
        f = self.fields
        self._choose("kind", [("", _("All kinds")), *CaseKind.choices])
        self._choose("state", [("", _("Any state")), (listing.ANY_OPEN, _("Any open state")),
                               (listing.ANY_CLOSED, _("Any closed state")),
                               *([(_("In progress"), choices.open_states)] if choices.open_states else []),
                               *([(_("Closed"), choices.closed_states)] if choices.closed_states else [])])
        self._choose("procedure", [("", _("Any procedure")), *choices.procedures])
        f["assignee"].widget = forms.Select(attrs=_SMALL_SELECT, choices=[
            ("", _("Anyone")), (ME, _("Me")), (UNASSIGNED, _("Unassigned")),
            *([(_("Staff"), [(str(pk), name) for pk, name in choices.staff])] if choices.staff else [])])
        self._choose("deadline", [("", _("Any")), *listing.DEADLINES.items()])
        self._choose("office", [("", _("All my offices")),
                                *((code, label) for _pk, code, label in choices.offices)])
        flag = cast(forms.MultipleChoiceField, f["flag"])
        flag.choices = choices.flags
        flag.widget = forms.CheckboxSelectMultiple(attrs={"class": "form-check-input"},
                                                   choices=choices.flags)
        self._choose("sort", list(listing.SORTS.items()))
        self.is_valid()  # cleaned_data keeps the fields that are valid, and only those
        self._read(show)

    def _choose(self, name: str, options: list[Any]) -> None:
        field = cast(forms.ChoiceField, self.fields[name])
        field.choices = options
        field.widget.attrs.update(_SMALL_SELECT)

    def clean_assignee(self) -> str | int:
        value: str = self.cleaned_data["assignee"]
        if value in _TAB_OF:
            return value
        # A staff member's id, for supervisors: outside their scope it matches no case.
        if self.choices.supervises and re.fullmatch(r"[0-9]{1,10}", value):
            return int(value)
        raise ValidationError(forms.ChoiceField.default_error_messages["invalid_choice"],
                              code="invalid_choice", params={"value": value})

    def _read(self, tab: str) -> None:
        d = self.cleaned_data
        assignee = d.get("assignee")
        staff = assignee if isinstance(assignee, int) else None
        if staff is not None:
            self.show = "all"
        else:  # the tab the choice stands for; without a valid choice, the tab asked for
            self.show = _TAB_OF[assignee] if isinstance(assignee, str) else tab
        office = d.get("office") or ""
        self.filters = listing.CaseFilters(
            kind=d.get("kind") or "", state=d.get("state") or "", procedure=d.get("procedure") or "",
            assignee=staff, deadline=d.get("deadline") or "",
            office=next((pk for pk, code, _label in self.choices.offices if code == office), None),
            flags=tuple(d.get("flag") or ()),
        )
        self.order = d.get("sort") or listing.NEWEST
        codes: dict[str, Any] = {name: d.get(name) for name in ("kind", "state", "procedure",
                                                                 "deadline", "office")}
        codes.update(assignee=staff, flags=list(self.filters.flags))
        self.codes = {k: v for k, v in codes.items() if v or (k == "assignee" and v is not None)}
        self.active = len(self.codes)
        pairs: list[tuple[str, Any]] = [(k, self.codes[k]) for k in (
            "kind", "state", "procedure", "deadline", "office") if k in self.codes]
        pairs += [("flag", code) for code in self.filters.flags]
        if self.order != listing.NEWEST:
            pairs.append(("sort", self.order))
        self.filter_query = urlencode(pairs)
        shown = [("show", self.show)]
        self.pairs = [*shown, *([("assignee", staff)] if staff is not None else []), *pairs]
        self.query = urlencode(self.pairs)
        self.clear_query = urlencode([*shown, *(p for p in pairs if p[0] == "sort")])


class DateTimeInput(forms.DateTimeInput):
    input_type = "datetime-local"

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(format="%Y-%m-%dT%H:%M", **kwargs)


class BreachReportForm(Styled, forms.Form):
    office = forms.ModelChoiceField(label=_("Office"), queryset=Office.objects.none())
    discovered_at = forms.DateTimeField(label=_("Discovered at"), widget=DateTimeInput())
    nature = forms.ChoiceField(label=_("What kind of breach"),
                               choices=[("", "—"), *BreachNature.choices])
    description = forms.CharField(
        label=_("What happened"), max_length=texts.NOTE, widget=forms.Textarea(attrs={"rows": 4}),
        help_text=_("What was seen, lost or changed, how and where; no names are needed. "
                    "Sealed with the office's key."))

    def __init__(self, *args: Any, offices: QuerySet[Office], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = cast("forms.ModelChoiceField[Office]", self.fields["office"])
        field.queryset = offices
        if len(offices) == 1:
            field.initial = offices[0].pk


class BreachManageForm(Styled, forms.Form):
    risk = forms.ChoiceField(label=_("Risk to the people affected"), choices=BreachRisk.choices)
    status = forms.ChoiceField(label=_("Status"), choices=BreachStatus.choices)
    occurred_from = forms.DateField(label=_("Occurred from"), required=False, widget=DateInput())
    occurred_to = forms.DateField(label=_("Occurred until"), required=False, widget=DateInput())
    categories = forms.CharField(
        label=_("Categories of data"), required=False, max_length=texts.SHORT,
        help_text=_("For example: names, contact details, case files, specific needs."))
    people_count = forms.IntegerField(label=_("Approximate number of people affected"),
                                      required=False, min_value=0, max_value=1_000_000_000)
    actions = forms.CharField(
        label=_("Containment and remedial actions"), required=False, max_length=texts.NOTE,
        widget=forms.Textarea(attrs={"rows": 4}), help_text=_("Sealed with the office's key."))
    focal_point_notified_at = forms.DateTimeField(
        label=_("Focal point or authority notified at"), required=False, widget=DateTimeInput())
    people_notified_at = forms.DateTimeField(
        label=_("Affected people notified at"), required=False, widget=DateTimeInput())
    reason = forms.CharField(label=_("Reason for the change"), required=False,
                             max_length=texts.SHORT)


class BreachPeopleForm(Styled, forms.Form):
    references = forms.CharField(
        label=_("References of their cases"), max_length=20_000,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text=_("One or more case references of your offices, separated by spaces or "
                    "commas: the principal of each case is named."))


class TransferForm(Styled, forms.Form):
    office = forms.ModelChoiceField(label=_("From the office"), queryset=Office.objects.none())
    transferred_on = forms.DateField(label=_("Transferred on"), widget=DateInput())
    to_office = forms.ModelChoiceField(label=_("To the office"), required=False,
                                       queryset=Office.objects.order_by("code"))
    to_organisation = forms.ModelChoiceField(
        label=_("To the organisation"), required=False,
        queryset=Organisation.objects.filter(is_active=True).order_by("name"))
    channel = forms.ChoiceField(label=_("How"), choices=[("", "—"), *TransferChannel.choices])
    sharing_agreement = forms.ModelChoiceField(
        label=_("Data-sharing agreement"), required=False,
        queryset=SharingAgreement.objects.none(),
        help_text=_("The office's agreements with partners, kept by the system administrators."))
    legal_basis = forms.CharField(label=_("Legal basis or consent reference"), required=False,
                                  max_length=200,
                                  help_text=_("Needed for an organisation without an agreement."))
    categories = forms.CharField(label=_("Which data"), max_length=texts.SHORT,
                                 help_text=_("For example: names, contact details, case files."))
    case_reference = forms.CharField(label=_("Case reference"), required=False, max_length=40)
    people_count = forms.IntegerField(label=_("Number of people"), min_value=1, max_value=1_000_000_000,
                                      initial=1)
    purpose = forms.CharField(label=_("Purpose"), max_length=texts.NOTE,
                              widget=forms.Textarea(attrs={"rows": 3}),
                              help_text=_("Sealed with the office's key."))

    def __init__(self, *args: Any, offices: QuerySet[Office], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = cast("forms.ModelChoiceField[Office]", self.fields["office"])
        field.queryset = offices
        if len(offices) == 1:
            field.initial = offices[0].pk
        agreements = cast("forms.ModelChoiceField[SharingAgreement]",
                          self.fields["sharing_agreement"])
        agreements.queryset = SharingAgreement.objects.filter(office__in=offices).select_related(
            "partner").order_by("reference")


class TransferFilterForm(Styled, forms.Form):
    to_office = forms.ModelChoiceField(label=_("To the office"), required=False,
                                       queryset=Office.objects.order_by("code"))
    to_organisation = forms.ModelChoiceField(label=_("To the organisation"), required=False,
                                             queryset=Organisation.objects.order_by("name"))
    agreement = forms.CharField(label=_("Agreement"), required=False, max_length=200)
    since = forms.DateField(label=_("From"), required=False, widget=DateInput())
    until = forms.DateField(label=_("Until"), required=False, widget=DateInput())
