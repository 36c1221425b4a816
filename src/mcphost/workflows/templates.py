"""Templated step arguments: ``{{ input.city }}``, ``{{ steps.geocode.output.lat }}``, rendered by Jinja2's
immutable sandbox with ``StrictUndefined``.

A string that is one expression and nothing else (``"{{ steps.add.output }}"``) keeps the JSON type of its value (a
number stays a number, an object an object); any other string with ``{{ … }}`` in it renders to a string (objects and
lists as JSON). Only expressions are allowed (no ``{% … %}`` statements, so no loops), the names a template sees are
``input`` and ``steps``, and the sandbox is narrowed further so that no expression can make a value much larger than
its inputs: no globals (``range``, ``lipsum``…), no filters or string methods that pad or repeat (``center``,
``format``, ``replace``, ``slice``…), ``*`` on strings and lists and ``**`` bounded, ``%`` only on numbers.

``references`` reads a template without running it: which steps and input fields it uses (a step's dependencies are
implied by them), and what is wrong with it, for errors at definition time."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, Final

from jinja2 import TemplateSyntaxError, Undefined, UndefinedError, nodes
from jinja2.exceptions import SecurityError
from jinja2.runtime import Context, StrictUndefined
from jinja2.sandbox import ImmutableSandboxedEnvironment

__all__ = ["Reference", "RenderError", "TemplateProblem", "references", "render", "template_strings"]

ROOTS: Final = ("input", "steps")
STEP_FIELDS: Final = ("output",)
#: Filters a template may use: those whose result is about the size of their input.
FILTERS: Final = frozenset(
    {
        "abs", "attr", "batch", "capitalize", "count", "d", "default", "dictsort", "e", "escape", "first", "float",
        "groupby", "int", "items", "join", "last", "length", "list", "lower", "map", "max", "min", "reject",
        "rejectattr", "reverse", "round", "select", "selectattr", "sort", "string", "sum", "title", "tojson", "trim",
        "truncate", "unique", "upper", "urlencode", "wordcount",
    }
)  # fmt: skip
#: Methods of strings that pad, repeat or format (a width of a billion is one short literal away).
UNSAFE_STR_METHODS: Final = frozenset(
    {"center", "ljust", "rjust", "zfill", "expandtabs", "format", "format_map", "replace", "translate"}
)
MAX_REPEAT_ITEMS: Final = 1_000_000
MAX_EXPONENT: Final = 64
_WHOLE: Final = re.compile(r"^\s*\{\{(?P<expression>.*)\}\}\s*$", re.DOTALL)


class TemplateProblem(Exception):
    """A template that cannot be used: bad syntax, a statement, an unknown name, a dynamic step reference."""


class RenderError(Exception):
    """A template that failed at run time: a missing field, a type error; the message says which."""


class _Sandbox(ImmutableSandboxedEnvironment):
    def wrap_str_format(self, value: Any) -> None:
        """No ``str.format``: the sandbox would wrap it as safe, but a width pads without limit."""
        return

    def is_safe_attribute(self, obj: Any, attr: str, value: Any) -> bool:
        if isinstance(obj, str) and attr in UNSAFE_STR_METHODS:
            return False
        return bool(super().is_safe_attribute(obj, attr, value))

    def call_binop(self, context: Context, operator: str, left: Any, right: Any) -> Any:
        if operator == "*":
            for sequence, times in ((left, right), (right, left)):
                repeated = isinstance(sequence, str | list | tuple) and isinstance(times, int)
                if repeated and len(sequence) * max(times, 0) > MAX_REPEAT_ITEMS:
                    raise SecurityError(f"repeating a value {times} times makes it too large")
        elif operator == "**":
            if isinstance(right, int | float) and abs(right) > MAX_EXPONENT:
                raise SecurityError(f"exponents above {MAX_EXPONENT} are not allowed")
        elif operator == "%" and not (isinstance(left, int | float) and isinstance(right, int | float)):
            raise SecurityError("% works on numbers only here; join strings with ~")
        return super().call_binop(context, operator, left, right)


def _finalize(value: Any) -> Any:
    """Inside a longer string, objects, lists, booleans and null read as JSON."""
    if isinstance(value, str | Undefined) or (isinstance(value, int | float) and not isinstance(value, bool)):
        return value
    return json.dumps(value, ensure_ascii=False)


def _environment() -> _Sandbox:
    environment = _Sandbox(undefined=StrictUndefined, autoescape=False, finalize=_finalize)
    environment.intercepted_binops = frozenset({"*", "**", "%"})
    environment.globals.clear()
    for name in list(environment.filters):
        if name not in FILTERS:
            del environment.filters[name]
    return environment


_ENV: Final = _environment()


@dataclass(frozen=True)
class Reference:
    """``steps.<step>.<field>…`` (``step`` set) or ``input.<field>…`` (``step`` None), as written."""

    step: str | None
    path: tuple[str, ...]

    def __str__(self) -> str:
        root = f"steps.{self.step}" if self.step is not None else "input"
        return ".".join((root, *self.path))


def template_strings(value: Any, where: str = "") -> Iterator[tuple[str, str]]:
    """Every string of a JSON value that holds a template, with where it is (``arguments.text``, ``arguments[0]``)."""
    if isinstance(value, str):
        if "{{" in value or "{%" in value:
            yield where, value
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from template_strings(item, f"{where}.{key}" if where else str(key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from template_strings(item, f"{where}[{index}]")


def references(template: str) -> list[Reference]:
    """The step and input references of one template string; raises ``TemplateProblem`` for anything not allowed."""
    try:
        tree = _ENV.parse(template)
    except TemplateSyntaxError as exc:
        raise TemplateProblem(f"{template!r} is not a valid template: {exc.message}") from None
    found: list[Reference] = []
    for node in tree.body:
        if not isinstance(node, nodes.Output):
            raise TemplateProblem(
                f"{template!r} has a {{% statement %}}; only {{{{ expressions }}}} are allowed in arguments"
            )
        for child in node.nodes:
            _collect(child, template, found)
    return found


def _chain(node: nodes.Node) -> tuple[str, list[str | None]] | None:
    """``steps.a.output.x`` → ("steps", ["a", "output", "x"]); a dynamic subscript is None in the path."""
    path: list[str | None] = []
    while isinstance(node, nodes.Getattr | nodes.Getitem):
        if isinstance(node, nodes.Getattr):
            path.append(node.attr)
        elif isinstance(node.arg, nodes.Const):
            path.append(str(node.arg.value))
        else:
            path.append(None)
        node = node.node
    if isinstance(node, nodes.Name):
        return node.name, path[::-1]
    return None


def _collect(node: nodes.Node, template: str, found: list[Reference]) -> None:
    chain = _chain(node) if isinstance(node, nodes.Getattr | nodes.Getitem | nodes.Name) else None
    if chain is not None:
        root, path = chain
        if root not in ROOTS:
            raise TemplateProblem(f"{template!r} uses '{root}'; templates see only input and steps")
        if root == "steps":
            if len(path) < 2 or path[0] is None or path[1] not in STEP_FIELDS:
                raise TemplateProblem(
                    f"{template!r}: refer to a step's result as steps.<step id>.output (with the step id written out)"
                )
            step, rest = path[0], path[2:]
        else:
            step, rest = None, path
        literal = tuple(item for item in _until_dynamic(rest))
        found.append(Reference(step, (*(("output",) if step is not None else ()), *literal)))
        # Subscripts computed from other references count too (steps.a.output[input.key]).
        for sub in _subscripts(node):
            _collect(sub, template, found)
        return
    for child in node.iter_child_nodes():
        _collect(child, template, found)


def _until_dynamic(path: list[str | None]) -> Iterator[str]:
    for item in path:
        if item is None:
            return
        yield item


def _subscripts(node: nodes.Node) -> Iterator[nodes.Node]:
    while isinstance(node, nodes.Getattr | nodes.Getitem):
        if isinstance(node, nodes.Getitem) and not isinstance(node.arg, nodes.Const):
            yield node.arg
        node = node.node


def render(value: Any, context: dict[str, Any]) -> Any:
    """A JSON value with its templates rendered against ``context`` (``input`` and ``steps``); raises
    ``RenderError`` naming the template and what was missing."""
    if isinstance(value, str):
        return _render_string(value, context) if "{{" in value else value
    if isinstance(value, dict):
        return {key: render(item, context) for key, item in value.items()}
    if isinstance(value, list):
        return [render(item, context) for item in value]
    return value


def _render_string(template: str, context: dict[str, Any]) -> Any:
    try:
        whole = _WHOLE.match(template)
        if whole is not None and "{{" not in whole["expression"] and "}}" not in whole["expression"]:
            result = _ENV.compile_expression(whole["expression"], undefined_to_none=False)(**context)
            if isinstance(result, Undefined):
                raise RenderError(f"{template.strip()}: {result._undefined_message}")
            return _plain(result)
        return _ENV.from_string(template).render(**context)
    except UndefinedError as exc:
        raise RenderError(f"{template.strip()}: {exc.message}") from None
    except SecurityError as exc:
        raise RenderError(f"{template.strip()}: not allowed: {exc}") from None
    except (TypeError, ValueError, ArithmeticError, LookupError, TemplateSyntaxError) as exc:
        raise RenderError(f"{template.strip()}: {type(exc).__name__}: {exc}") from None


def _plain(value: Any) -> Any:
    """A value computed by an expression as JSON would have it (tuples from filters become lists; anything else
    that JSON cannot hold becomes its text)."""
    if value is None or isinstance(value, str | bool | int | float):
        return value
    if isinstance(value, dict):
        return {str(key): _plain(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(item) for item in value]
    if hasattr(value, "__iter__"):  # a generator from map/select
        return [_plain(item) for item in value]
    return str(value)
