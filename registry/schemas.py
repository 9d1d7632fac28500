"""The registry API's request and response bodies."""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal

from pydantic import BaseModel, Field

from stockplane.api import Text

__all__ = [
    "CompatibilityResult",
    "ConsumerCreate",
    "ConsumerRead",
    "ContractPage",
    "ContractRead",
    "ContractUpdate",
    "DeprecationCreate",
    "DiffRead",
    "FindingRead",
    "ImpactRead",
    "RegistrationRead",
    "VersionCreate",
    "VersionDocument",
    "VersionRead",
]

Modes = Literal[
    "BACKWARD", "BACKWARD_TRANSITIVE", "FORWARD", "FORWARD_TRANSITIVE", "FULL", "FULL_TRANSITIVE", "NONE"
]


class FindingRead(BaseModel):
    rule: str
    severity: str
    message: str
    location: dict[str, Any]
    old: Any = None
    new: Any = None


class VersionCreate(BaseModel):
    """A new version: the document as text (YAML or JSON), and optionally its version."""

    content: Text = Field(description="The OpenAPI document or JSON Schema, as YAML or JSON text.")
    version: Text | None = Field(
        None, description="MAJOR.MINOR.PATCH; proposed from the change when omitted."
    )
    kind: Literal["openapi", "jsonschema"] | None = None
    owner: Text | None = Field(None, description="Owning team (used when the contract is created).")
    description: Text | None = None
    tags: list[Text] | None = None
    compatibility_mode: Modes | None = Field(None, description="Default: the policy pack's for the kind.")
    compatibility_policy: Literal["strict", "lenient"] | None = None


class ContractUpdate(BaseModel):
    owner: Text | None = None
    description: Text | None = None
    tags: list[Text] | None = None
    compatibility_mode: Modes | None = None
    compatibility_policy: Literal["strict", "lenient"] | None = None


class VersionRead(BaseModel):
    contract: str
    version: str
    state: str
    sunset: dt.date | None
    replacement: str | None
    content_hash: str
    policy_pack: str | None
    created_at: dt.datetime
    created_by: str
    changelog: list[FindingRead]


class VersionDocument(VersionRead):
    document: Any


class ContractRead(BaseModel):
    name: str
    kind: str
    owner: str
    description: str
    tags: list[str]
    compatibility_mode: str
    compatibility_policy: str
    created_at: dt.datetime
    created_by: str
    latest_version: str | None
    versions: int


class ContractPage(BaseModel):
    items: list[ContractRead]
    next_cursor: str | None


class RegistrationRead(BaseModel):
    created: bool
    dry_run: bool
    version: str
    required_bump: str
    findings: list[FindingRead]
    registered: VersionRead | None


class CompatibilityResult(BaseModel):
    compatible: bool
    proposed_version: str | None
    required_bump: str | None
    findings: list[FindingRead]
    detail: str | None = None
    policy_pack: str


class DiffRead(BaseModel):
    contract: str
    from_version: str
    to_version: str
    required_bump: str
    findings: list[FindingRead]


class DeprecationCreate(BaseModel):
    sunset: dt.date
    replacement: Text | None = None


class ConsumerCreate(BaseModel):
    system: Text = Field(min_length=1, max_length=128)
    environment: Text = Field("production", min_length=1, max_length=64)
    versions: Text = Field(description="An exact version, `*`, or specifiers such as `>=2.0,<3`.")


class ConsumerRead(BaseModel):
    id: int
    contract: str
    system: str
    environment: str
    versions: str
    created_at: dt.datetime
    created_by: str


class ImpactRead(BaseModel):
    contract: str
    version: str
    state: str
    consumers: list[ConsumerRead]
