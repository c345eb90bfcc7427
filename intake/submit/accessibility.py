"""Attributes that tie a form control to its hint and errors, for screen readers."""

from __future__ import annotations

from wtforms import Field


def aria_attributes(field: Field, *also_described_by: str) -> dict[str, str]:
    """`aria-describedby` naming the field's hint, errors and any other notes; `aria-invalid` after an error.

    The ids match the `hint` and `errors` macros in templates/submit/_fields.html.
    """
    described_by = [
        *([f"{field.id}-hint"] if field.description else []),
        *([f"{field.id}-errors"] if field.errors else []),
        *also_described_by,
    ]
    attributes = {"aria-describedby": " ".join(described_by)} if described_by else {}
    if field.errors:
        attributes["aria-invalid"] = "true"
    return attributes
