"""What the gateway does with held items: they are left out of ``tools/list``, ``prompts/list`` and
``resources/list`` answers, and a ``tools/call``, ``prompts/get`` or ``resources/read`` of one is refused with a
message that says why and how to approve it."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Final

#: A list method → (the result's field, the field naming an item, the kind held).
LISTS: Final = {
    "tools/list": ("tools", "name", "tool"),
    "prompts/list": ("prompts", "name", "prompt"),
    "resources/list": ("resources", "uri", "resource"),
}
#: A method using one item → (the params' field naming it, the kind held).
USES: Final = {"tools/call": ("name", "tool"), "prompts/get": ("name", "prompt"), "resources/read": ("uri", "resource")}

Transform = Callable[[str, dict[str, Any]], Any]


@dataclass(frozen=True, slots=True)
class Held:
    """The names held on one server, by kind (``Server.held``)."""

    names: dict[str, frozenset[str]]
    slug: str = ""

    @classmethod
    def of(cls, held: dict[str, Any] | None, slug: str = "") -> Held:
        return cls({kind: frozenset(names) for kind, names in (held or {}).items() if names}, slug)

    def __bool__(self) -> bool:
        return bool(self.names)

    def refusal(self, method: str, params: Any) -> str | None:
        """Why a request may not reach the server (it uses a held item), or None."""
        use = USES.get(method)
        if use is None or not self.names:
            return None
        field, kind = use
        name = params.get(field) if type(params) is dict else None
        if type(name) is not str or name not in self.names.get(kind, ()):
            return None
        return (
            f"The {kind} '{name}' is held: its definition changed since an owner of this server approved it (or it is "
            f"new). An owner sees the change and approves it with `mcphost servers pins {self.slug or 'SERVER'}` and "
            f"`mcphost servers approve {self.slug or 'SERVER'} {name}`, or in the console (the server's Pins tab)."
        )

    def hiding(self, then: Transform | None = None) -> Transform | None:
        """A transform of list results that drops held items (and then applies ``then``); ``then`` when none is
        held, so a server with nothing held costs nothing."""
        if not self.names:
            return then

        def hide(method: str, result: dict[str, Any]) -> Any:
            listed = LISTS.get(method)
            if listed is not None:
                field, key, kind = listed
                held = self.names.get(kind)
                items = result.get(field)
                if held and type(items) is list:
                    result[field] = [item for item in items if type(item) is not dict or item.get(key) not in held]
            return then(method, result) if then is not None else None

        return hide


NOTHING_HELD: Final = Held({})
