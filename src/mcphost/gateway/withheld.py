"""What one caller may not see or use on one server, and why: tools, prompts, resources and resource templates held
because their definition changed since an owner approved it (``pinning``), tools the owner disabled, and tools the
owner keeps for a higher role in the server's organisation (``Server.tool_rules``).

They are left out of ``tools/list``, ``prompts/list``, ``resources/list`` and ``resources/templates/list`` answers,
and a ``tools/call``, ``prompts/get`` or ``resources/read`` of one (or of a URI a held template matches) is refused
with a message that says why and what to do."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Final

from sqlalchemy.ext.asyncio import AsyncSession

from mcphost.mcp.uri_template import template_pattern
from mcphost.models import OrgRole, Server, User
from mcphost.orgs.repository import OrgRepository

#: A list method → (the result's field, the field naming an item, the kind).
LISTS: Final = {
    "tools/list": ("tools", "name", "tool"),
    "prompts/list": ("prompts", "name", "prompt"),
    "resources/list": ("resources", "uri", "resource"),
    "resources/templates/list": ("resourceTemplates", "uriTemplate", "resource_template"),
}
#: A method using one item → (the params' field naming it, the kind).
USES: Final = {"tools/call": ("name", "tool"), "prompts/get": ("name", "prompt"), "resources/read": ("uri", "resource")}
HELD: Final = "held"
DISABLED: Final = "disabled"
ROLE: Final = "role"

Transform = Callable[[str, dict[str, Any]], Any]


@dataclass(frozen=True, slots=True)
class Withheld:
    """By kind, the names withheld from a caller and why (``held``, ``disabled``, or ``role`` with the role needed)."""

    reasons: dict[str, dict[str, tuple[str, str]]]
    slug: str = ""
    #: Held resource templates with the URIs they match: reads of those are refused too.
    templates: tuple[tuple[str, re.Pattern[str]], ...] = ()

    @classmethod
    def for_caller(cls, server: Server, role: OrgRole | None, *, admin: bool) -> Withheld:
        """For a caller with this role in the server's organisation (None: a personal server or no role needed)."""
        reasons: dict[str, dict[str, tuple[str, str]]] = {}
        for kind, names in (server.held or {}).items():
            for name in names:
                reasons.setdefault(kind, {})[name] = (HELD, "")
        rules = server.tool_rules or {}
        tools = reasons.setdefault("tool", {})
        for name in rules.get("disabled") or ():
            tools.setdefault(name, (DISABLED, ""))
        if not admin and role is not None:
            for name, needed in (rules.get("min_role") or {}).items():
                if not role.at_least(OrgRole(needed)):
                    tools.setdefault(name, (ROLE, needed))
        templates = tuple((name, template_pattern(name)) for name in reasons.get("resource_template", {}))
        return cls({kind: names for kind, names in reasons.items() if names}, server.slug, templates)

    def __bool__(self) -> bool:
        return bool(self.reasons)

    def refusal(self, method: str, params: Any) -> tuple[str, str] | None:
        """(why, the reason code) when a request uses an item withheld from the caller, else None."""
        use = USES.get(method)
        if use is None or not self.reasons:
            return None
        field, kind = use
        name = params.get(field) if type(params) is dict else None
        found = self.reasons.get(kind, {}).get(name) if type(name) is str else None
        slug = self.slug or "SERVER"
        if found is None and kind == "resource" and type(name) is str:
            template = next((t for t, pattern in self.templates if pattern.fullmatch(name)), None)
            if template is not None:
                return (
                    f"The resource '{name}' comes from the resource template '{template}', which is held: its "
                    "definition changed since an owner of this server approved it (or it is new). An owner approves "
                    f"it with `mcphost servers approve {slug} '{template}'` or in the console (the server's Pins tab).",
                    HELD,
                )
        if found is None:
            return None
        reason, needed = found
        if reason == HELD:
            return (
                f"The {kind} '{name}' is held: its definition changed since an owner of this server approved it (or "
                f"it is new). An owner sees the change and approves it with `mcphost servers pins {slug}` and "
                f"`mcphost servers approve {slug} {name}`, or in the console (the server's Pins tab).",
                HELD,
            )
        if reason == DISABLED:
            return f"The tool '{name}' is disabled on this server by its owner.", DISABLED
        return (
            f"The tool '{name}' is for the {needed} role and above in this server's organisation; ask an admin of the "
            "organisation.",
            ROLE,
        )

    def hiding(self, then: Transform | None = None) -> Transform | None:
        """A transform of list results that drops withheld items (and then applies ``then``); ``then`` alone when
        nothing is withheld, so a server with no rules and nothing held costs nothing."""
        if not self.reasons:
            return then

        def hide(method: str, result: dict[str, Any]) -> Any:
            listed = LISTS.get(method)
            if listed is not None:
                field, key, kind = listed
                withheld = self.reasons.get(kind)
                items = result.get(field)
                if withheld and type(items) is list:
                    result[field] = [item for item in items if type(item) is not dict or item.get(key) not in withheld]
            return then(method, result) if then is not None else None

        return hide


NOTHING_WITHHELD: Final = Withheld({})


async def withheld_for(session: AsyncSession, server: Server, user: User | None, *, admin: bool) -> Withheld:
    """What is withheld from this user (the creator of an access key, or the caller) on this server; one query when
    the server keeps tools for a role in its organisation."""
    role = None
    if server.org_id is not None and (server.tool_rules or {}).get("min_role") and not admin and user is not None:
        role = await OrgRepository(session).role_of(server.org_id, user.id) or OrgRole.VIEWER
    return Withheld.for_caller(server, role, admin=admin)
