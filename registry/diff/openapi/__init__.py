"""OpenAPI 3.x breaking-change detection."""

from .compare import OpenApiOptions, diff_openapi
from .versions import parse_version, version_findings

__all__ = ["OpenApiOptions", "diff_openapi", "parse_version", "version_findings"]
