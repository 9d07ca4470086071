"""The application's pages, and one that refuses inside a transaction it rolls back."""

from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django.urls import path

from cases import events
from settings.urls import handler403
from settings.urls import urlpatterns as app_urlpatterns

__all__ = ["handler403", "urlpatterns"]


def refuse_in_transaction(request: HttpRequest) -> HttpResponse:
    with transaction.atomic():
        events.emit("test.touch", actor=request.user)  # rolled back with the transaction
        raise PermissionDenied("refused halfway")


def refuse_after_a_failed_form(request: HttpRequest) -> HttpResponse:
    from cases.forms import NoteForm

    NoteForm({"text": ""}).is_valid()  # recorded as form.invalid
    raise PermissionDenied("refused after the form")


urlpatterns = [
    path("test-refuse-in-transaction/", refuse_in_transaction, name="test_refuse_in_transaction"),
    path("test-refuse-after-form/", refuse_after_a_failed_form, name="test_refuse_after_form"),
    *app_urlpatterns,
]
