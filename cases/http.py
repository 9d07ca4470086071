"""Types for views."""

from __future__ import annotations

from django.http import HttpRequest
from django_htmx.middleware import HtmxDetails

from cases.models import User


class AuthedRequest(HttpRequest):
    """The request of a view behind login_required (or a role decorator): its user is a User."""

    user: User  # narrower than HttpRequest's user: login_required ensures it


class HtmxRequest(AuthedRequest):
    """Through django-htmx's middleware, which tells htmx's requests apart."""

    htmx: HtmxDetails
