"""Admin for configuration only: offices, staff and memberships. No case content here."""

from django.contrib import admin
from django.contrib.auth.admin import UserAdmin
from simple_history.admin import SimpleHistoryAdmin

from cases.models import Membership, Office, User


class MembershipInline(admin.TabularInline):
    """Read-only here: roles change through the staff page or 'manage.py grant_role'."""

    model = Membership
    extra = 0
    can_delete = False
    readonly_fields = ("office", "role", "created_at")

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(User)
class StaffAdmin(UserAdmin, SimpleHistoryAdmin):
    inlines = [MembershipInline]
    fieldsets = (*UserAdmin.fieldsets, ("Amparo", {"fields": ("preferred_language",)}))


@admin.register(Office)
class OfficeAdmin(SimpleHistoryAdmin):
    list_display = ("code", "name", "country", "city", "is_active")
    search_fields = ("code", "name")
