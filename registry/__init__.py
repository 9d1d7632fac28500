"""Contract registry: loading, validating and diffing API and event contracts."""
