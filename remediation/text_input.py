"""Checks on free text from people, agents and RCA engines before it reaches PostgreSQL.

PostgreSQL cannot store U+0000 in text or jsonb, so a NUL character that slipped through would fail
the write with a 500 (or, in a background path, leave a run hanging). Every service that stores
caller-supplied text refuses it first with a 400 naming the field.
"""

from __future__ import annotations

from typing import Any

from remediation.errors import InvalidInput


def nul_character_at(value: Any, path: str = "") -> str | None:
    """The path of the first string (or key) holding a NUL character, or None."""
    if isinstance(value, str):
        return path if "\x00" in value else None
    if isinstance(value, dict):
        for key, item in value.items():
            child = f"{path}.{key}" if path else str(key)
            if "\x00" in str(key):
                return child
            found = nul_character_at(item, child)
            if found is not None:
                return found
    if isinstance(value, list | tuple):
        for index, item in enumerate(value):
            found = nul_character_at(item, f"{path}[{index}]")
            if found is not None:
                return found
    return None


def refuse_nul_characters(**fields: Any) -> None:
    for name, value in fields.items():
        found = nul_character_at(value, name)
        if found is not None:
            raise InvalidInput(f"'{found}' contains a NUL character.", field=found)
