"""Settings, one block per package, read from ``STOCKPLANE_*`` environment variables."""

from __future__ import annotations

from functools import lru_cache

from pydantic import BaseModel, Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class RegistrySettings(BaseModel):
    """Limits that keep document loading and contract diffing safe on hostile input."""

    max_document_bytes: int = Field(
        20 * 1024 * 1024,
        description="Largest contract document read from a file or git, in bytes; larger ones "
        "are refused (the server's own cap is max_api_document_bytes).",
    )
    max_api_document_bytes: int = Field(
        5 * 1024 * 1024,
        description="Largest document the server accepts for a registration or a compatibility "
        "check, for every role (larger: 413). Checking one costs about 20 times its "
        "size in memory at its peak; `contracts diff` on local files keeps max_document_bytes.",
    )
    max_concurrent_checks: int = Field(
        2,
        description="Registrations and compatibility checks one worker runs at once; more get "
        "429 with Retry-After.",
    )
    max_nesting_depth: int = Field(
        200,
        description="Deepest nesting of mappings and lists accepted in a document.",
    )
    full_validation_max_bytes: int = Field(
        1024 * 1024,
        description="`contracts diff` validates documents up to this size fully against their "
        "specification (about 1.2 s per MB); larger ones get a fast structural check.",
    )
    comparison_budget: int = Field(
        300_000,
        description="Most schema-pair comparisons one schema check may make before it gives up "
        "(about 100,000 a second), so no input shape can make the engine run for ever.",
    )


class TracingSettings(BaseModel):
    """Limits of event ingestion."""

    max_batch_events: int = Field(
        10_000, description="Most events one POST /v1/events may carry (more: 413)."
    )
    max_batch_bytes: int = Field(
        10 * 1024 * 1024,
        description="Largest POST /v1/events or /v1/traces body, in bytes (more: 413); a gzip "
        "OTLP export is held to it once decompressed too.",
    )
    max_concurrent_batches: int = Field(
        8, description="Ingestion requests handled at once per worker; more get 429 with Retry-After."
    )
    sweep_seconds: int = Field(
        30,
        description="How often the server marks overdue transactions stalled (0: never; run `stockplane trace sweep`).",
    )


class ServerSettings(BaseModel):
    """How long the HTTP server waits for slow or stalled clients."""

    body_read_seconds: float = Field(
        30.0,
        description="A request body must arrive within this time once the handler reads it "
        "(else 408); ingestion slots are taken only after it is in.",
    )
    keep_alive_seconds: int = Field(
        5, description="An idle keep-alive connection is closed after this many seconds."
    )
    graceful_shutdown_seconds: int = Field(
        30,
        description="On SIGTERM, requests still running after this many seconds are cancelled "
        "and the process exits, however slowly their clients send.",
    )


class Settings(BaseSettings):
    """All of stockplane's settings; nested blocks use ``__`` in variable names."""

    model_config = SettingsConfigDict(env_prefix="STOCKPLANE_", env_nested_delimiter="__")

    database_url: str = Field(
        "sqlite:///.stockplane/stockplane.db",
        description="SQLAlchemy URL of the database (STOCKPLANE_DATABASE_URL); a SQLite file "
        "under ./.stockplane/ by default, postgresql://… (psycopg 3) in production.",
    )
    auto_migrate: bool = Field(
        False,
        description="Apply pending database migrations when the server starts, instead of "
        "refusing to start (STOCKPLANE_AUTO_MIGRATE).",
    )
    anonymous_read: bool = Field(
        False, description="Allow reads without an API key (STOCKPLANE_ANONYMOUS_READ)."
    )
    otlp_endpoint: str | None = Field(
        None,
        description="Export each transaction that completes, fails or stalls as a trace to this "
        "OTLP/HTTP endpoint, e.g. http://otel-collector:4318 (STOCKPLANE_OTLP_ENDPOINT).",
    )
    url: str = Field(
        "http://127.0.0.1:8000",
        description="Where the CLI finds a running stockplane server (STOCKPLANE_URL).",
    )
    api_key: str | None = Field(None, description="API key the CLI sends to the server (STOCKPLANE_API_KEY).")
    policy_pack: str | None = Field(
        None,
        description="The policy pack to apply: a folder, or a built-in pack name "
        "(STOCKPLANE_POLICY_PACK; default: the built-in retail-omnichannel pack).",
    )
    server: ServerSettings = Field(
        default_factory=ServerSettings,
        description="Timeouts of the HTTP server (STOCKPLANE_SERVER__...).",
    )
    tracing: TracingSettings = Field(
        default_factory=TracingSettings,
        description="Event ingestion limits (STOCKPLANE_TRACING__...).",
    )
    registry: RegistrySettings = Field(
        default_factory=RegistrySettings,
        description="Contract loading and diffing limits (STOCKPLANE_REGISTRY__...).",
    )


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings; tests call ``get_settings.cache_clear()`` to re-read."""
    return Settings()
