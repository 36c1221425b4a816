"""Checks of a workflow definition that need no database: step ids, dependencies, templates, cycles, the input
schema and the size of it all. Each problem is a 422 that names the step, the field and what to change."""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from typing import Any

import orjson

from mcphost.errors import ValidationFailed
from mcphost.settings import WorkflowSettings
from mcphost.workflows.graph import find_cycle
from mcphost.workflows.schemas import StepIn
from mcphost.workflows.templates import Reference, TemplateProblem, references, template_strings

__all__ = ["check_definition", "check_input_schema", "input_problem", "json_size"]

JSON_TYPES = {
    "string": (str,),
    "number": (int, float),
    "integer": (int,),
    "boolean": (bool,),
    "object": (dict,),
    "array": (list,),
    "null": (type(None),),
}


def _invalid(message: str, code: str, **details: Any) -> ValidationFailed:
    return ValidationFailed(message, code=code, details=details or None)


def json_size(value: Any, what: str) -> int:
    """The size of a value as JSON; 422 for one nested too deeply to be written as JSON (orjson writes 254 levels)."""
    try:
        return len(orjson.dumps(value))
    except orjson.JSONEncodeError as exc:
        raise _invalid(f"{what} cannot be stored as JSON: {exc}.", "invalid_json") from None


def check_input_schema(schema: dict[str, Any]) -> None:
    if schema.get("type", "object") != "object":
        raise _invalid('input_schema must describe an object ({"type": "object", …}).', "invalid_input_schema")
    properties = schema.get("properties", {})
    if not isinstance(properties, dict) or not all(isinstance(item, dict) for item in properties.values()):
        raise _invalid("input_schema.properties must map each field to a schema.", "invalid_input_schema")
    required = schema.get("required", [])
    if not isinstance(required, list) or not all(isinstance(name, str) for name in required):
        raise _invalid("input_schema.required must be a list of field names.", "invalid_input_schema")


def check_definition(
    steps: Sequence[StepIn], input_schema: dict[str, Any], output: Any, settings: WorkflowSettings
) -> dict[str, list[str]]:
    """Each step's dependencies (explicit and implied by its references), in definition order; raises
    ``ValidationFailed`` for the first problem found."""
    size = json_size([[step.model_dump() for step in steps], input_schema, output], "The definition")
    if size > settings.max_definition_bytes:
        raise _invalid(
            f"The definition is {size} bytes; at most {settings.max_definition_bytes} are allowed.", "too_large"
        )
    if len(steps) > settings.max_steps:
        raise _invalid(
            f"A workflow has at most {settings.max_steps} steps; this one has {len(steps)}.", "too_many_steps"
        )
    check_input_schema(input_schema)
    ids = [step.id for step in steps]
    duplicates = sorted({step_id for step_id in ids if ids.count(step_id) > 1})
    if duplicates:
        raise _invalid(f"Step ids must be unique; used more than once: {', '.join(duplicates)}.", "duplicate_step")
    known = set(ids)
    explicit: dict[str, list[str]] = {}
    referred: dict[str, list[str]] = {}
    for step in steps:
        limit = settings.max_step_timeout_seconds
        if step.timeout_seconds is not None and step.timeout_seconds > limit:
            raise _invalid(f"Step '{step.id}': timeout_seconds is at most {limit:g}.", "invalid_timeout", step=step.id)
        for needed in step.needs:
            if needed not in known:
                raise _invalid(
                    f"Step '{step.id}' needs '{needed}', but there is no step '{needed}'.",
                    "unknown_step",
                    step=step.id,
                    field="needs",
                )
        explicit[step.id] = list(dict.fromkeys(step.needs))
        referred[step.id] = []
        for where, reference in _references(step.arguments, f"step '{step.id}'", "arguments"):
            _check_reference(reference, where, known, input_schema, step.id)
            if reference.step is not None and reference.step not in referred[step.id]:
                referred[step.id].append(reference.step)
    for where, reference in _references(output, "the output", "output"):
        _check_reference(reference, where, known, input_schema, None)
    needs = {step_id: list(dict.fromkeys(explicit[step_id] + referred[step_id])) for step_id in ids}
    _check_cycles(explicit, referred, needs)
    return needs


def _references(value: Any, owner: str, root: str) -> list[tuple[str, Reference]]:
    found = []
    for where, template in template_strings(value, root):
        try:
            found += [(f"{owner}, {where}", reference) for reference in references(template)]
        except TemplateProblem as exc:
            raise _invalid(f"In {owner}, {where}: {exc}", "invalid_template", field=where) from None
    return found


def _check_reference(
    reference: Reference, where: str, known: set[str], input_schema: dict[str, Any], step: str | None
) -> None:
    if reference.step is None:
        properties = input_schema.get("properties") or {}
        if properties and reference.path and reference.path[0] not in properties:
            raise _invalid(
                f"In {where}: {reference} is not a field of the input (input_schema.properties has "
                f"{', '.join(sorted(properties))}).",
                "unknown_input",
                reference=str(reference),
            )
        return
    if reference.step not in known:
        raise _invalid(
            f"In {where}: {reference} refers to a step '{reference.step}', and there is none.",
            "unknown_step",
            reference=str(reference),
        )
    if reference.step == step:
        raise _invalid(
            f"In {where}: {reference} refers to the step's own output; a step can use only the outputs of steps "
            "before it.",
            "not_upstream",
            reference=str(reference),
        )


def _check_cycles(explicit: dict[str, list[str]], referred: dict[str, list[str]], needs: dict[str, list[str]]) -> None:
    cycle = find_cycle(needs)
    if cycle is None:
        return
    named = " → ".join(cycle)
    # An edge of the cycle that only a reference makes: a step using the output of one that runs after it.
    for before, after in itertools.pairwise(cycle):
        if before in referred.get(after, []) and before not in explicit.get(after, []):
            raise _invalid(
                f"Step '{after}' refers to steps.{before}.output, but '{before}' is not upstream of it: '{before}' "
                f"waits for '{after}' (the steps would form a cycle: {named}).",
                "not_upstream",
                cycle=cycle,
                step=after,
            )
    raise _invalid(f"The steps form a cycle: {named}. Remove one of these needs.", "cycle", cycle=cycle)


def input_problem(schema: dict[str, Any], value: dict[str, Any]) -> str | None:
    """What is wrong with a run's input by the workflow's input schema (its required fields and the JSON types of
    its top-level fields), or None. Deeper constraints are the tools' to check."""
    missing = [name for name in schema.get("required") or [] if name not in value]
    if missing:
        return f"The input lacks {', '.join(missing)} (required by the workflow's input_schema)."
    for name, field in (schema.get("properties") or {}).items():
        if name not in value or not isinstance(field, dict) or not isinstance(field.get("type"), str):
            continue
        wanted = JSON_TYPES.get(field["type"])
        item = value[name]
        if wanted is None:
            continue
        if isinstance(item, bool) and bool not in wanted:
            return f"The input field '{name}' must be {field['type']}, not a boolean."
        if not isinstance(item, wanted):
            return f"The input field '{name}' must be {field['type']}, not {type(item).__name__}."
    if schema.get("additionalProperties") is False:
        extra = sorted(set(value) - set(schema.get("properties") or {}))
        if extra:
            return f"The input has fields the workflow does not take: {', '.join(extra)}."
    return None
