"""Request bodies of the event routes (events-openapi.yaml: OBEventSubscription1, OBEventPolling1; contract A)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class SubscriptionData(_Strict):
    EventSubscriptionId: str | None = Field(default=None, min_length=1, max_length=40)  # PUT echoes it
    CallbackUrl: str | None = Field(default=None, min_length=1, max_length=500)
    Version: str = Field(min_length=1, max_length=10)
    EventTypes: list[str] | None = None


class SubscriptionRequest(_Strict):
    Data: SubscriptionData


class PollingRequest(_Strict):
    maxEvents: int | None = None
    returnImmediately: bool | None = None
    ack: list[str] | None = Field(default=None, max_length=1000)
    setErrs: dict[str, dict] | None = None


class ResourceLink(_Strict):
    Version: str = Field(min_length=1, max_length=10)
    Link: str = Field(min_length=1, max_length=500)


class PublishSubject(_Strict):
    ResourceId: str = Field(min_length=1, max_length=128)
    ResourceType: str = Field(min_length=1, max_length=128)
    ResourceLinks: list[ResourceLink] = Field(min_length=1)


class PublishRequest(_Strict):
    EventId: str = Field(min_length=1, max_length=128)
    ClientId: str = Field(min_length=1, max_length=128)
    EventType: Literal[
        "urn:uk:org:openbanking:events:resource-update",
        "urn:uk:org:openbanking:events:consent-authorization-revoked",
    ]
    Subject: PublishSubject
    OccurredAt: str = Field(min_length=10, max_length=40)
