"""Reading console forms: text fields, and form input checked with the API's own pydantic models, so a page
accepts exactly what the API accepts and names the field to fix when it does not."""

from __future__ import annotations

from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError
from starlette.datastructures import FormData

from mcphost.errors import ValidationFailed

M = TypeVar("M", bound=BaseModel)


def form_text(form: FormData, name: str) -> str:
    """A text field, stripped; missing or a file upload reads as empty."""
    value = form.get(name)
    return value.strip() if isinstance(value, str) else ""


def validated(model: type[M], labels: dict[str, str], **values: Any) -> M:
    """Check form input with the API's own model; what is wrong becomes a 422 naming the field and the fix."""
    try:
        return model.model_validate(values)
    except ValidationError as exc:
        problems = []
        for error in exc.errors():
            field = str(error["loc"][0]) if error["loc"] else ""
            message = str(error["msg"]).removeprefix("Value error, ")
            problems.append(f"{labels.get(field, field or 'form')}: {message}")
        raise ValidationFailed(
            "Please correct the form. " + "; ".join(problems[:5]) + ".",
            details=[{"loc": list(error["loc"]), "msg": error["msg"]} for error in exc.errors()],
        ) from exc
