"""A tool's "try it" form, generated from its JSON Schema, and the arguments read back from the submitted form.

Each property of the tool's ``inputSchema`` becomes one field: strings a text input (a textarea when long or of a
format), numbers and integers a number input, booleans a checkbox, enums a select, anything else (arrays, objects,
unions) a JSON textarea. A tool that declares no properties gets one JSON textarea for all its arguments.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

__all__ = ["ALL_ARGUMENTS", "FIELD_PREFIX", "FieldProblem", "ToolField", "arguments_from", "fields_for"]

FIELD_PREFIX = "arg."
#: The name of the one field of a tool without declared properties: the whole arguments object, as JSON.
ALL_ARGUMENTS = "arguments"
Widget = Literal["text", "textarea", "number", "integer", "checkbox", "select", "json"]
_LONG_FORMATS = {"textarea", "multiline", "markdown"}


class FieldProblem(ValueError):
    """A submitted value that cannot be what the schema asks for; names the field."""

    def __init__(self, name: str, message: str) -> None:
        super().__init__(f"{name}: {message}")
        self.name = name
        self.message = message


@dataclass(frozen=True)
class ToolField:
    name: str
    widget: Widget
    required: bool = False
    title: str = ""
    description: str = ""
    default: Any = None
    options: list[tuple[str, str]] = field(default_factory=list)  # (JSON of the value, label)
    placeholder: str = ""
    whole: bool = False  # the whole arguments object (a tool without declared properties)

    @property
    def input_name(self) -> str:
        return FIELD_PREFIX + self.name

    @property
    def label(self) -> str:
        return self.title or self.name

    @property
    def initial(self) -> str:
        """The field's starting text (the schema's default, as the widget shows it)."""
        if self.default is None:
            return ""
        if self.widget == "json":
            return json.dumps(self.default, indent=2)
        if self.widget == "select":
            return json.dumps(self.default)
        return str(self.default)


def _kind(schema: Mapping[str, Any]) -> str | None:
    kind = schema.get("type")
    if isinstance(kind, list):
        kinds = [item for item in kind if item != "null"]
        return kinds[0] if len(kinds) == 1 else None
    return kind if isinstance(kind, str) else None


def _field(name: str, schema: Mapping[str, Any], required: bool) -> ToolField:
    common: dict[str, Any] = {
        "name": name,
        "required": required,
        "title": str(schema.get("title") or ""),
        "description": str(schema.get("description") or ""),
        "default": schema.get("default"),
    }
    enum = schema.get("enum")
    if isinstance(enum, list) and enum:
        options = [(json.dumps(value), str(value)) for value in enum]
        return ToolField(widget="select", options=options, **common)
    kind = _kind(schema)
    if kind == "string":
        long = schema.get("format") in _LONG_FORMATS or int(schema.get("maxLength") or 0) > 200
        return ToolField(widget="textarea" if long else "text", **common)
    if kind in ("number", "integer"):
        return ToolField(widget="number" if kind == "number" else "integer", **common)
    if kind == "boolean":
        return ToolField(widget="checkbox", **common)
    placeholder = "[]" if kind == "array" else "{}" if kind == "object" else "JSON"
    return ToolField(widget="json", placeholder=placeholder, **common)


def fields_for(input_schema: Any) -> list[ToolField]:
    """The form's fields for a tool's ``inputSchema``."""
    schema = input_schema if isinstance(input_schema, Mapping) else {}
    properties = schema.get("properties")
    if not isinstance(properties, Mapping) or not properties:
        hint = "All arguments as one JSON object; this tool declares no fields."
        return [
            ToolField(ALL_ARGUMENTS, "json", title="Arguments (JSON)", description=hint, placeholder="{}", whole=True)
        ]
    required = set(schema.get("required") or [])
    return [
        _field(str(name), prop if isinstance(prop, Mapping) else {}, name in required)
        for name, prop in properties.items()
    ]


def _json(field_: ToolField, text: str) -> Any:
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise FieldProblem(
            field_.label, f"not valid JSON ({exc.msg} at line {exc.lineno}, column {exc.colno})"
        ) from None


def _value(field_: ToolField, text: str) -> Any:
    if field_.widget in ("text", "textarea"):
        return text
    if field_.widget == "select":
        chosen = _json(field_, text)
        if text not in {value for value, _ in field_.options}:
            raise FieldProblem(field_.label, "choose one of the listed values")
        return chosen
    if field_.widget in ("number", "integer"):
        try:
            number = float(text)
        except ValueError:
            raise FieldProblem(field_.label, "enter a number") from None
        if field_.widget == "integer":
            if not number.is_integer():
                raise FieldProblem(field_.label, "enter a whole number")
            return int(number)
        return int(number) if number.is_integer() and "." not in text else number
    return _json(field_, text)


def arguments_from(fields: list[ToolField], form: Mapping[str, Any]) -> dict[str, Any]:
    """The tool's arguments from the submitted form; raises ``FieldProblem`` naming the first wrong field."""
    arguments: dict[str, Any] = {}
    for field_ in fields:
        raw = form.get(field_.input_name)
        if field_.widget == "checkbox":
            arguments[field_.name] = raw is not None
            continue
        text = raw if isinstance(raw, str) else ""
        if not text.strip():
            if field_.required:
                raise FieldProblem(field_.label, "this field is required")
            continue
        value = _value(field_, text if field_.widget in ("text", "textarea") else text.strip())
        if field_.whole:
            if not isinstance(value, dict):
                raise FieldProblem(field_.label, "enter a JSON object, such as {}")
            return value
        arguments[field_.name] = value
    return arguments
