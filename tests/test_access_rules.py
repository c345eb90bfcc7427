"""The deny-by-default gate: what is public, and the order the request pipeline runs in."""

from __future__ import annotations

from flask import Flask

from intake import security
from intake.staff.access import load_staff


def test_the_public_surface_is_exactly_this(app: Flask) -> None:
    # Adding a public page is a security decision: it must show up here.
    rules: security.AccessRules = app.extensions[security.ACCESS_RULES_KEY]
    assert rules.public_endpoints == {"static", "health.healthz", "lawyer.login", "lawyer.enrol", "admin.setup"}
    assert rules.public_blueprints == {"submit"}
    assert rules.staff_blueprints == {"lawyer", "admin"}


def test_the_staff_loader_runs_before_the_gate(app: Flask) -> None:
    names = [function.__name__ for function in app.before_request_funcs[None]]
    assert names.index(load_staff.__name__) < names.index("deny_by_default")

