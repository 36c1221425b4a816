"""Response models of webhooks and their deliveries."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field

from mcphost.models import DeliveryOutcome


class WebhookResult(BaseModel):
    """What a delivery did."""

    outcome: DeliveryOutcome = Field(description="redeployed or ignored (refused deliveries get an error instead).")
    revision: int | None = Field(description="The revision the redeploy recorded; null when nothing was deployed.")
    ignored: str | None = Field(None, description="Why nothing was deployed, for ignored deliveries.")
    detail: str
    delivery: int = Field(description="The id of the delivery in GET /api/servers/{id}/webhook/deliveries.")


class WebhookOut(BaseModel):
    """Where to send deliveries and what the server acts on; never the secret."""

    url: str = Field(description="The generic webhook: POST with the header X-Webhook-Secret to redeploy.")
    github_url: str = Field(description="The Payload URL of a GitHub webhook (content type application/json).")
    has_secret: bool = Field(description="Whether the server has a webhook secret (rotate to make one).")
    rotated_at: datetime | None = Field(description="When the secret was made.")
    git_branch: str | None = Field(
        description="For a git source, the branch whose pushes redeploy (null: the repository's default branch)."
    )
    follows_pushes: bool = Field(description="Whether GitHub pushes can redeploy it: only git sources follow them.")


class WebhookSecret(WebhookOut):
    webhook_secret: str = Field(description="The new secret. It is shown only in this response.")


class DeliveryOut(BaseModel):
    id: int
    received_at: datetime
    endpoint: str = Field(description="webhook (the generic endpoint) or github.")
    event: str = Field(description="The GitHub event (push, ping...) or 'webhook'.")
    delivery_id: str | None = Field(description="GitHub's X-GitHub-Delivery id.")
    outcome: DeliveryOutcome
    detail: str
    revision: int | None
