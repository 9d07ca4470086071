"""Admin for configuration only: offices, staff and memberships. No case content here."""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.contrib import admin
from django.contrib.auth.admin import UserAdmin
from django.http import HttpRequest
from simple_history.admin import SimpleHistoryAdmin

from cases.models import Membership, Office, User

if TYPE_CHECKING:
    # Django's admin classes take no type parameters at run time.
    _MembershipInlineBase = admin.TabularInline[Membership, User]
    _UserAdminBase = UserAdmin[User]
else:
    _MembershipInlineBase = admin.TabularInline
    _UserAdminBase = UserAdmin


class MembershipInline(_MembershipInlineBase):
    """Read-only here: roles change through the staff page or 'manage.py grant_role'."""

    model = Membership
    extra = 0
    can_delete = False
    readonly_fields = ("office", "role", "created_at")

    def has_add_permission(self, request: HttpRequest, obj: User | None = None) -> bool:
        return False


@admin.register(User)
class StaffAdmin(_UserAdminBase, SimpleHistoryAdmin):  # type: ignore[misc]  # simple-history has no type hints
    """Superusers only: a system administrator configures offices here, and office
    administrators manage their staff on /staff/, within their offices. Editing any account
    here (its flags, its groups) would reach past both."""

    def has_module_permission(self, request: HttpRequest) -> bool:
        return bool(request.user.is_superuser)

    def has_view_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return bool(request.user.is_superuser)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return bool(request.user.is_superuser)

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return bool(request.user.is_superuser)

    def has_delete_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return bool(request.user.is_superuser)

    inlines = [MembershipInline]
    fieldsets = (*(UserAdmin.fieldsets or ()), ("Amparo", {"fields": ("preferred_language",)}))


@admin.register(Office)
class OfficeAdmin(SimpleHistoryAdmin):  # type: ignore[misc]  # simple-history has no type hints
    list_display = ("code", "name", "country", "city", "is_active")
    search_fields = ("code", "name")
