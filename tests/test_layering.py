"""The layout holds: blueprints never import each other, nothing else imports a blueprint,
and only services commit.

Read from the source's syntax tree, so a forbidden import fails here even
when it would happen to work at run time.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

from flask import Flask

ROOT = Path(__file__).resolve().parent.parent
# Each package holds one blueprint and only code for it.
BLUEPRINT_PACKAGES = ("intake.submit", "intake.lawyer", "intake.admin", "intake.health")
# The one module allowed to see every blueprint: it registers them. Everything
# else outside a blueprint (services, staff, questions, crypto…) sees none.
COMPOSITION_ROOT = "intake"
# crypto/ is pure: no web framework, no database, no configuration, no app code.
CRYPTO_FORBIDDEN = ("flask", "flask_babel", "flask_wtf", "werkzeug", "sqlalchemy", "intake", "config")


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imported_modules(source: str, importer: str, is_package: bool) -> Iterator[str]:
    """Every module an import statement could name, `from a import b` giving both `a` and `a.b`."""
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                anchor = importer.split(".")
                anchor = anchor[: len(anchor) - node.level + (1 if is_package else 0)]
                base = ".".join([*anchor, node.module] if node.module else anchor)
            else:
                base = node.module or ""
            yield base
            yield from (f"{base}.{alias.name}" for alias in node.names)


def within(module: str, package: str) -> bool:
    return module == package or module.startswith(package + ".")


def home(module: str, packages: tuple[str, ...]) -> str | None:
    return next((package for package in packages if within(module, package)), None)


def layering_violations(source: str, importer: str, is_package: bool = False) -> list[str]:
    importer_blueprint = home(importer, BLUEPRINT_PACKAGES)
    found = []
    for target in imported_modules(source, importer, is_package):
        target_blueprint = home(target, BLUEPRINT_PACKAGES)
        if target_blueprint not in (None, importer_blueprint) and importer != COMPOSITION_ROOT:
            found.append(f"{importer} imports {target}, part of the {target_blueprint} blueprint")
        if within(importer, "crypto") and any(within(target, name) for name in CRYPTO_FORBIDDEN):
            found.append(f"{importer} imports {target} (crypto/ must stay pure)")
    return found


def source_files() -> Iterator[Path]:
    for top in ("intake", "crypto", "config"):
        yield from sorted((ROOT / top).rglob("*.py"))


def test_no_blueprint_imports_another_and_nothing_else_imports_a_blueprint() -> None:
    violations = [
        violation
        for path in source_files()
        for violation in layering_violations(
            path.read_text(encoding="utf-8"), module_name(path), path.name == "__init__.py"
        )
    ]
    assert violations == []


def test_every_registered_blueprint_lives_in_a_known_blueprint_package(app: Flask) -> None:
    # A new blueprint outside these packages would escape the check above.
    for blueprint in app.blueprints.values():
        assert home(blueprint.import_name, BLUEPRINT_PACKAGES) is not None, blueprint.import_name


def test_the_checker_catches_each_kind_of_forbidden_import() -> None:
    assert layering_violations("from intake.lawyer.views import login", "intake.admin.views")
    assert layering_violations("from intake.submit import fields", "intake.lawyer.views")
    assert layering_violations("import intake.admin.forms", "intake.lawyer.forms")
    assert layering_violations("from intake import lawyer", "intake.services.export")
    assert layering_violations("from ..submit import views", "intake.services.export")
    assert layering_violations("from intake.admin.views import bp", "intake.staff.access")
    assert layering_violations("from intake.lawyer.views import bp", "intake.errors")
    assert layering_violations("from flask import g", "crypto.kdf")
    assert layering_violations("from intake.submit.views import bp", "crypto.sealing")


def test_the_checker_allows_what_the_layout_allows() -> None:
    assert layering_violations("from intake.lawyer.views import bp", "intake", is_package=True) == []
    assert layering_violations("from intake.staff.access import requires_admin", "intake.admin.views") == []
    assert layering_violations("from intake.services import cases", "intake.lawyer.views") == []
    assert layering_violations("from intake.submit.forms import HelpRequestForm", "intake.submit.views") == []
    assert layering_violations("from intake.questions import question_label", "intake.services.export") == []


def commits(source: str) -> list[int]:
    """Lines that call `.commit()` on anything."""
    return [
        node.lineno
        for node in ast.walk(ast.parse(source))
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "commit"
    ]


def test_only_services_commit() -> None:
    # The transaction rule (docs/design.md, Layout): the service a view or
    # command calls commits; views and CLI commands never do.
    committing = {
        module_name(path): lines
        for path in source_files()
        if not within(module_name(path), "intake.services")
        and (lines := commits(path.read_text(encoding="utf-8")))
    }
    assert committing == {}


def test_the_commit_check_sees_a_commit() -> None:
    assert commits("def view():\n    db = get_session()\n    db.commit()\n") == [3]


def private_imports(source: str) -> list[str]:
    """Names with a leading underscore imported from another module: another module's insides."""
    return [
        f"{node.module}.{alias.name}"
        for node in ast.walk(ast.parse(source))
        if isinstance(node, ast.ImportFrom) and node.module and not node.module.startswith("__")
        for alias in node.names
        if alias.name.startswith("_") and not alias.name.startswith("__")
    ]


def test_no_module_reaches_into_anothers_private_names() -> None:
    found = {
        str(path.relative_to(ROOT)): names
        for path in source_files()
        if (names := private_imports(path.read_text()))
    }
    assert found == {}


def test_the_private_import_rule_catches_what_it_should() -> None:
    assert private_imports("from intake.submit.views import _receipt_page, bp") == [
        "intake.submit.views._receipt_page"
    ]
    assert private_imports("from __future__ import annotations\nimport os") == []
