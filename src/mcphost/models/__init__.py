"""ORM tables, one module per aggregate. Importing this package registers every table on ``Base.metadata``."""

from mcphost.models.catalog import CatalogEntry
from mcphost.models.credential import UserCredential
from mcphost.models.domain import CertificateStatus, CustomDomain, DomainStatus, VerificationMethod
from mcphost.models.evaluation import (
    EvaluationCase,
    EvaluationResult,
    EvaluationRun,
    EvaluationStatus,
    EvaluationSuite,
    EvaluationTrigger,
    MatchMode,
)
from mcphost.models.gateway_session import GatewaySession
from mcphost.models.integration import AttachedService
from mcphost.models.invocation import InvocationRecord
from mcphost.models.job import Job, JobStatus
from mcphost.models.node import Node, ServerEndpoint
from mcphost.models.oauth import OAuthClient, OAuthClientKind, OAuthCode, OAuthGrant, OAuthToken, OAuthTokenKind
from mcphost.models.org import Invitation, Membership, Organization, OrgRole
from mcphost.models.pin import DefinitionKind, DefinitionPin, PinPolicy
from mcphost.models.revision import RevisionActor, RevisionReason, ServerRevision
from mcphost.models.server import DesiredState, Isolation, Server, ServerAccessKey, ServerStatus
from mcphost.models.server_activity import LogStream, ServerLog, UsageEvent
from mcphost.models.token import ApiToken, TokenScope
from mcphost.models.user import LoginSession, User, UserRole
from mcphost.models.vector import IngestionJob, IngestionStatus, VectorDatabase, VectorDbStatus
from mcphost.models.webhook import DeliveryOutcome, ServerWebhook, WebhookDelivery
from mcphost.models.workflow import RunStatus, StepStatus, Workflow, WorkflowRun, WorkflowStepRun

__all__ = [
    "ApiToken",
    "AttachedService",
    "CatalogEntry",
    "CertificateStatus",
    "CustomDomain",
    "DefinitionKind",
    "DefinitionPin",
    "DeliveryOutcome",
    "DesiredState",
    "DomainStatus",
    "EvaluationCase",
    "EvaluationResult",
    "EvaluationRun",
    "EvaluationStatus",
    "EvaluationSuite",
    "EvaluationTrigger",
    "GatewaySession",
    "IngestionJob",
    "IngestionStatus",
    "Invitation",
    "InvocationRecord",
    "Isolation",
    "Job",
    "JobStatus",
    "LogStream",
    "LoginSession",
    "MatchMode",
    "Membership",
    "Node",
    "OAuthClient",
    "OAuthClientKind",
    "OAuthCode",
    "OAuthGrant",
    "OAuthToken",
    "OAuthTokenKind",
    "OrgRole",
    "Organization",
    "PinPolicy",
    "RevisionActor",
    "RevisionReason",
    "RunStatus",
    "Server",
    "ServerAccessKey",
    "ServerEndpoint",
    "ServerLog",
    "ServerRevision",
    "ServerStatus",
    "ServerWebhook",
    "StepStatus",
    "TokenScope",
    "UsageEvent",
    "User",
    "UserCredential",
    "UserRole",
    "VectorDatabase",
    "VectorDbStatus",
    "VerificationMethod",
    "WebhookDelivery",
    "Workflow",
    "WorkflowRun",
    "WorkflowStepRun",
]
