"""JSON Schema (a tool's ``inputSchema``) to Python and TypeScript types, and the names of the generated code.

Only shapes that map cleanly get a precise type: ``string`` (``enum``/``const`` of strings become literals),
``integer``, ``number``, ``boolean``, ``null``, ``array`` (of its ``items``), ``object`` (with ``properties``: a
TypedDict in Python, an inline object type in TypeScript; without: a dict/record), a list of types and
``anyOf``/``oneOf`` (unions). Anything else (``$ref``, ``allOf``, ``not``, a malformed schema) is ``Any`` /
``unknown``: the server still validates what it is sent.
"""

from __future__ import annotations

import json
import keyword
import re
from dataclasses import dataclass, field
from typing import Any

# Names a generated Python client already uses for itself; a tool or argument of that name gets a '_' suffix.
PY_RESERVED_METHODS = frozenset({"aclose", "call_tool"})
PY_RESERVED_ARGS = frozenset({"self", "_args"})
_TS_WORDS = """break case catch class const continue debugger default delete do else enum export extends false finally
    for function if import in instanceof new null return super switch this throw true try typeof var void while
    with yield let static implements interface package private protected public await constructor callTool
    close endpoint"""
TS_RESERVED = frozenset(_TS_WORDS.split())
_SIMPLE_TS_KEY = re.compile(r"^[A-Za-z_$][A-Za-z0-9_$]*$")


def words(name: str) -> list[str]:
    """The words of a name: split at anything but letters and digits, and between camelCase humps."""
    spaced = re.sub(r"([a-z0-9])([A-Z])", r"\1 \2", name)
    spaced = re.sub(r"([A-Z]+)([A-Z][a-z])", r"\1 \2", spaced)
    return [word for word in re.split(r"[^A-Za-z0-9]+", spaced) if word]


def snake_case(name: str, reserved: frozenset[str] = frozenset()) -> str:
    """A valid Python identifier for ``name``: ``get-user.byId`` → ``get_user_by_id``; keywords get a '_'."""
    ident = "_".join(word.lower() for word in words(name)) or "tool"
    if ident[0].isdigit():
        ident = f"_{ident}"
    if keyword.iskeyword(ident) or keyword.issoftkeyword(ident) or ident in reserved:
        ident += "_"
    return ident


def python_arg(name: str) -> str:
    """An argument name: the property's own name when it is a valid identifier (keywords get a '_'), else its
    snake_case form."""
    ident = name if name.isidentifier() and name.isascii() else snake_case(name)
    if keyword.iskeyword(ident) or ident in PY_RESERVED_ARGS:
        ident += "_"
    return ident


def pascal_case(name: str) -> str:
    ident = "".join(word[:1].upper() + word[1:] for word in words(name)) or "Tool"
    return f"_{ident}" if ident[0].isdigit() else ident


def camel_case(name: str, reserved: frozenset[str] = TS_RESERVED) -> str:
    """A valid TypeScript identifier: ``get_user-by.id`` → ``getUserById``; reserved words get a '_'."""
    parts = words(name)
    if not parts:
        return "tool"
    ident = parts[0].lower() + "".join(part[:1].upper() + part[1:] for part in parts[1:])
    if ident[0].isdigit():
        ident = f"_{ident}"
    if ident in reserved:
        ident += "_"
    return ident


def unique(names: list[str]) -> list[str]:
    """``names`` with later duplicates numbered: ``[a, a, a]`` → ``[a, a_2, a_3]``."""
    seen: set[str] = set()
    out = []
    for name in names:
        candidate, number = name, 1
        while candidate in seen:
            number += 1
            candidate = f"{name}_{number}"
        seen.add(candidate)
        out.append(candidate)
    return out


def _types(schema: dict[str, Any]) -> list[str] | None:
    kind = schema.get("type")
    if isinstance(kind, str):
        return [kind]
    if isinstance(kind, list) and kind and all(isinstance(k, str) for k in kind):
        return list(dict.fromkeys(kind))
    return None


def _literal(value: Any) -> bool:
    return isinstance(value, str | bool | int) or value is None


def _join(parts: list[str], empty: str) -> str:
    parts = list(dict.fromkeys(parts))
    return " | ".join(parts) if parts else empty


# -- Python ----------------------------------------------------------------------------------------------------


@dataclass
class PyField:
    key: str
    type: str
    required: bool
    description: str


@dataclass
class PyTypedDict:
    name: str
    fields: list[PyField]


@dataclass
class PyTypes:
    """Collects the TypedDicts that object schemas with properties become, named after where they appear."""

    typed_dicts: list[PyTypedDict] = field(default_factory=list)

    def map(self, schema: Any, hint: str = "Value") -> str:
        """The Python type of ``schema``; ``hint`` names a TypedDict made for an object schema."""
        if not isinstance(schema, dict):
            return "Any"
        if "const" in schema and _literal(schema["const"]):
            return f"Literal[{_py_literal(schema['const'])}]"
        if isinstance(schema.get("enum"), list) and schema["enum"] and all(_literal(v) for v in schema["enum"]):
            return f"Literal[{', '.join(_py_literal(v) for v in dict.fromkeys(schema['enum']))}]"
        for combinator in ("anyOf", "oneOf"):
            options = schema.get(combinator)
            if isinstance(options, list) and options and "type" not in schema:
                mapped = [self.map(option, hint) for option in options]
                return "Any" if "Any" in mapped else _join(mapped, "Any")
        kinds = _types(schema)
        if kinds is None:
            return "Any"
        mapped = [self._one(kind, schema, hint) for kind in kinds]
        return "Any" if "Any" in mapped else _join(mapped, "Any")

    def _one(self, kind: str, schema: dict[str, Any], hint: str) -> str:
        simple = {"string": "str", "integer": "int", "number": "float", "boolean": "bool", "null": "None"}
        if kind in simple:
            return simple[kind]
        if kind == "array":
            items = schema.get("items")
            return f"list[{self.map(items, hint + 'Item')}]" if isinstance(items, dict) else "list[Any]"
        if kind == "object":
            properties = schema.get("properties")
            if isinstance(properties, dict) and properties:
                return self._typed_dict(schema, properties, hint)
            extra = schema.get("additionalProperties")
            return f"dict[str, {self.map(extra, hint + 'Value')}]" if isinstance(extra, dict) else "dict[str, Any]"
        return "Any"

    def _typed_dict(self, schema: dict[str, Any], properties: dict[str, Any], hint: str) -> str:
        names = {typed.name for typed in self.typed_dicts}
        name, number = hint, 1
        while name in names:
            number += 1
            name = f"{hint}{number}"
        typed = PyTypedDict(name, [])
        self.typed_dicts.append(typed)  # before its fields: nested ones come after it
        required = set(schema.get("required") or [])
        for key, sub in properties.items():
            description = sub.get("description", "") if isinstance(sub, dict) else ""
            sub_type = self.map(sub, name + pascal_case(key))
            typed.fields.append(PyField(str(key), sub_type, key in required, str(description or "")))
        return name


def _py_literal(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False) if isinstance(value, str) else repr(value)


def python_type(schema: Any) -> str:
    """The Python type of a schema on its own (objects with properties become their TypedDict's name)."""
    return PyTypes().map(schema)


# -- TypeScript ------------------------------------------------------------------------------------------------


def ts_key(key: str) -> str:
    return key if _SIMPLE_TS_KEY.match(key) else json.dumps(key, ensure_ascii=False)


def ts_type(schema: Any, indent: int = 0) -> str:
    """The TypeScript type of ``schema``; object schemas with properties become inline object types."""
    if not isinstance(schema, dict):
        return "unknown"
    if "const" in schema and _literal(schema["const"]):
        return json.dumps(schema["const"], ensure_ascii=False)
    if isinstance(schema.get("enum"), list) and schema["enum"] and all(_literal(v) for v in schema["enum"]):
        return " | ".join(json.dumps(v, ensure_ascii=False) for v in dict.fromkeys(schema["enum"]))
    for combinator in ("anyOf", "oneOf"):
        options = schema.get(combinator)
        if isinstance(options, list) and options and "type" not in schema:
            mapped = [ts_type(option, indent) for option in options]
            return "unknown" if "unknown" in mapped else _join(mapped, "unknown")
    kinds = _types(schema)
    if kinds is None:
        return "unknown"
    mapped = [_ts_one(kind, schema, indent) for kind in kinds]
    return "unknown" if "unknown" in mapped else _join(mapped, "unknown")


def _ts_one(kind: str, schema: dict[str, Any], indent: int) -> str:
    simple = {"string": "string", "integer": "number", "number": "number", "boolean": "boolean", "null": "null"}
    if kind in simple:
        return simple[kind]
    if kind == "array":
        items = schema.get("items")
        inner = ts_type(items, indent) if isinstance(items, dict) else "unknown"
        return f"Array<{inner}>" if (" " in inner or "\n" in inner) else f"{inner}[]"
    if kind == "object":
        properties = schema.get("properties")
        if isinstance(properties, dict) and properties:
            required = set(schema.get("required") or [])
            pad = "  " * (indent + 1)
            lines = [
                f"{pad}{ts_key(str(key))}{'' if key in required else '?'}: {ts_type(sub, indent + 1)};"
                for key, sub in properties.items()
            ]
            return "{\n" + "\n".join(lines) + "\n" + "  " * indent + "}"
        extra = schema.get("additionalProperties")
        return f"Record<string, {ts_type(extra, indent) if isinstance(extra, dict) else 'unknown'}>"
    return "unknown"
