"""Admin for configuration only: offices, staff and memberships. No case content here."""

from django.contrib import admin
from django.contrib.auth.admin import UserAdmin
from simple_history.admin import SimpleHistoryAdmin

from cases.models import Membership, Office, User


class MembershipInline(admin.TabularInline):
    model = Membership
    extra = 0


@admin.register(User)
class StaffAdmin(UserAdmin, SimpleHistoryAdmin):
    inlines = [MembershipInline]
    fieldsets = (*UserAdmin.fieldsets, ("Amparo", {"fields": ("preferred_language",)}))


@admin.register(Office)
class OfficeAdmin(SimpleHistoryAdmin):
    list_display = ("code", "name", "country", "city", "is_active")
    search_fields = ("code", "name")
