"""What the notification tests share: what a user was told (the emails sent: the `emails`
fixture of tests/conftest.py)."""

from __future__ import annotations

from cases.models import Notification, User


def told(user: User, kind: str | None = None) -> list[Notification]:
    rows = Notification.objects.filter(recipient=user).order_by("pk")
    return list(rows.filter(kind=kind) if kind else rows)


def fresh(user: User) -> User:
    return User.objects.get(pk=user.pk)
