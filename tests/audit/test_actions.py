"""Action names are one vocabulary: every action the code emits is declared once, with a label
translated to Spanish, and an undeclared action cannot be recorded."""

from __future__ import annotations

import ast
from collections import defaultdict
from pathlib import Path

import pytest
from django.conf import settings
from django.utils import translation

from audit import actions as audit_actions
from audit.models import AuditEvent
from cases import actions as cases_actions
from cases import events
from rsd import actions as rsd_actions

APPS = ("cases", "rsd", "audit")


def _sources() -> list[tuple[str, ast.Module]]:
    root = Path(settings.BASE_DIR)
    out = []
    for app in APPS:
        for path in sorted((root / app).rglob("*.py")):
            if "migrations" not in path.parts:
                out.append((str(path.relative_to(root)), ast.parse(path.read_text(), str(path))))
    return out


def _strings(node: ast.expr) -> list[str]:
    """The literal values an expression can take ("a" if x else "b" gives both)."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return [node.value]
    if isinstance(node, ast.IfExp):
        return _strings(node.body) + _strings(node.orelse)
    if isinstance(node, ast.BoolOp):
        return [text for value in node.values for text in _strings(value)]
    return []


def _name(func: ast.expr) -> str:
    return func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")


def emitted_actions() -> dict[str, list[str]]:
    """Every literal action name in the code, with where it is: the first argument of emit(),
    the `action` argument of the functions that pass one on to emit(), and what is assigned
    to a variable named `action`."""
    modules = _sources()
    takes_action: dict[str, int] = {}  # function name -> position of its `action` parameter
    for _path, tree in modules:
        for node in ast.walk(tree):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                names = [a.arg for a in node.args.posonlyargs + node.args.args]
                if "action" in names:
                    takes_action[node.name] = names.index("action")
    found: dict[str, list[str]] = defaultdict(list)
    for path, tree in modules:
        for node in ast.walk(tree):
            values: list[ast.expr] = []
            if isinstance(node, ast.Call) and _name(node.func) in takes_action:
                position = takes_action[_name(node.func)]
                if len(node.args) > position:
                    values.append(node.args[position])
                values += [k.value for k in node.keywords if k.arg == "action"]
            elif isinstance(node, ast.Assign) and any(
                    isinstance(t, ast.Name) and t.id == "action" for t in node.targets):
                values.append(node.value)
            for value in values:
                for text in _strings(value):
                    found[text].append(f"{path}:{node.lineno}")
    return found


def test_every_action_in_the_code_is_declared():
    found = emitted_actions()

    # The scan sees the actions of every app, including those behind a variable
    assert {"case.open", "rsd.coi.add", "auth.login", "auth.lockout", "auth.login_failed",
            "rsd.application.update", "person.erase"} <= set(found)
    undeclared = {name: where for name, where in found.items() if not events.is_declared(name)}
    assert undeclared == {}


def test_every_declared_action_is_emitted_somewhere():
    declared = {**cases_actions.ACTIONS, **rsd_actions.ACTIONS, **audit_actions.ACTIONS}

    assert set(declared) - set(emitted_actions()) == set()


def test_each_app_declares_its_own_actions_once():
    apps = [cases_actions.ACTIONS, rsd_actions.ACTIONS, audit_actions.ACTIONS]
    names = [name for actions in apps for name in actions]

    assert len(names) == len(set(names))
    assert set(names) <= set(events.declared())
    assert all(n.startswith("rsd.") for n in rsd_actions.ACTIONS)


def test_every_label_is_translated_to_spanish():
    for name, label in events.declared().items():
        with translation.override("en"):
            english = str(label)
        with translation.override("es"):
            spanish = str(label)
        assert spanish and spanish != english, f"{name}: {english!r} has no Spanish translation"


def test_the_label_follows_the_language():
    with translation.override("es"):
        assert events.action_label("auth.login") == "Inicio de sesión"
    with translation.override("en"):
        assert events.action_label("auth.login") == "Logged in"
        assert events.action_label("retired.action") == "retired.action"


@pytest.mark.django_db
def test_an_undeclared_action_fails_and_records_nothing(caseworker):
    with pytest.raises(ValueError, match=r"case\.veiw"):
        events.emit("case.veiw", actor=caseworker)

    assert not AuditEvent.objects.filter(action="case.veiw").exists()


def test_an_action_declared_again_with_another_label_fails():
    with pytest.raises(ValueError, match="declared twice"):
        events.declare({"case.open": "Opened"})
    # the same declaration again (ready() running twice) is harmless
    events.declare(cases_actions.ACTIONS)
    assert events.declared()["case.open"] is cases_actions.ACTIONS["case.open"]
