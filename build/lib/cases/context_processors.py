from typing import Any

from django.http import HttpRequest

from cases import access
from cases.models import Role


def roles(request: HttpRequest) -> dict[str, Any]:
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    held = access.roles_by_office(user)
    return {
        "user_roles": sorted(held),
        "is_case_staff": bool(held.get(Role.CASEWORKER) or held.get(Role.SUPERVISOR)),
        "is_supervisor": bool(held.get(Role.SUPERVISOR)),
    }
