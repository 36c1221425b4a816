"""ORM tables, one module per aggregate. Importing this package registers every table on ``Base.metadata``."""

from mcphost.models.job import Job, JobStatus
from mcphost.models.org import Invitation, Membership, Organization, OrgRole
from mcphost.models.token import ApiToken, TokenScope
from mcphost.models.user import LoginSession, User, UserRole

__all__ = [
    "ApiToken",
    "Invitation",
    "Job",
    "JobStatus",
    "LoginSession",
    "Membership",
    "OrgRole",
    "Organization",
    "TokenScope",
    "User",
    "UserRole",
]
