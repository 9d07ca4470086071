"""Types for views."""

from __future__ import annotations

from django.http import HttpRequest

from cases.models import User


class AuthedRequest(HttpRequest):
    """The request of a view behind login_required (or a role decorator): its user is a User."""

    user: User  # narrower than HttpRequest's user: login_required ensures it
