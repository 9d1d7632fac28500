"""Deterministic synthetic contracts for benchmarks: a large OpenAPI spec and small event schemas."""

from __future__ import annotations

import copy
import random
from typing import Any

_TYPES = [
    {"type": "string", "maxLength": 64},
    {"type": "string", "format": "date-time"},
    {"type": "integer", "minimum": 0},
    {"type": "number"},
    {"type": "boolean"},
    {"type": "string", "enum": ["available", "reserved", "in_transit", "damaged"]},
    {"type": "array", "items": {"type": "string"}, "maxItems": 50},
]


def large_openapi(paths: int = 1000, schemas: int = 2000, seed: int = 7) -> dict[str, Any]:
    """An OpenAPI 3.0 document with ``paths`` paths and ``schemas`` component schemas."""
    rng = random.Random(seed)
    components: dict[str, Any] = {}
    for index in range(schemas):
        properties: dict[str, Any] = {}
        for field in range(rng.randint(6, 14)):
            if index > 10 and rng.random() < 0.15:
                properties[f"field{field}"] = {"$ref": f"#/components/schemas/Model{rng.randrange(index)}"}
            else:
                properties[f"field{field}"] = dict(
                    rng.choice(_TYPES), description=f"Field {field} of model {index}"
                )
        components[f"Model{index}"] = {
            "type": "object",
            "description": f"Model {index} of the inventory domain.",
            "required": sorted(rng.sample(list(properties), k=min(3, len(properties)))),
            "properties": properties,
        }
    document_paths: dict[str, Any] = {}
    for index in range(paths):
        model = f"#/components/schemas/Model{rng.randrange(schemas)}"
        other = f"#/components/schemas/Model{rng.randrange(schemas)}"
        parameters = [
            {"name": "id", "in": "path", "required": True, "schema": {"type": "string", "maxLength": 36}},
            {"name": "location", "in": "query", "schema": {"type": "string"}},
        ]
        document_paths[f"/resource{index}/{{id}}"] = {
            "get": {
                "operationId": f"getResource{index}",
                "tags": [f"group{index % 25}"],
                "parameters": parameters,
                "responses": {
                    "200": {
                        "description": "ok",
                        "content": {"application/json": {"schema": {"$ref": model}}},
                    },
                    "404": {"description": "not found"},
                },
            },
            "put": {
                "operationId": f"putResource{index}",
                "parameters": parameters[:1],
                "requestBody": {
                    "required": True,
                    "content": {"application/json": {"schema": {"$ref": other}}},
                },
                "responses": {
                    "200": {"description": "ok", "content": {"application/json": {"schema": {"$ref": other}}}}
                },
            },
        }
    return {
        "openapi": "3.0.3",
        "info": {"title": "Synthetic inventory API", "version": "1.0.0"},
        "servers": [{"url": "https://api.example.com/v1"}],
        "paths": document_paths,
        "components": {"schemas": components},
    }


def modified(document: dict[str, Any], seed: int = 11) -> dict[str, Any]:
    """A copy with about 1% of paths and schemas changed, some breaking and some not."""
    rng = random.Random(seed)
    new = copy.deepcopy(document)
    new["info"]["version"] = "2.0.0"
    paths = list(new["paths"])
    for path in rng.sample(paths, k=len(paths) // 100):
        new["paths"][path]["get"]["parameters"][1]["required"] = True
    for path in rng.sample(paths, k=len(paths) // 200):
        del new["paths"][path]
    schemas = new["components"]["schemas"]
    for name in rng.sample(list(schemas), k=len(schemas) // 100):
        schema = schemas[name]
        field = rng.choice(list(schema["properties"]))
        prop = schema["properties"][field]
        if "maxLength" in prop:
            prop["maxLength"] = 32
        elif "$ref" not in prop:
            prop["description"] = "changed"
        schema["properties"]["addedField"] = {"type": "string"}
    return new


def event_schema_pairs(count: int, seed: int = 3) -> list[tuple[dict[str, Any], dict[str, Any]]]:
    """Small event schemas like the canonical envelope, each with a plausible next version."""
    rng = random.Random(seed)
    pairs = []
    for index in range(count):
        old = {
            "$schema": "https://json-schema.org/draft/2020-12/schema",
            "type": "object",
            "required": ["event_id", "sku", "quantity"],
            "properties": {
                "event_id": {"type": "string", "format": "uuid"},
                "sku": {"type": "string", "maxLength": 40},
                "quantity": {"type": "integer", "minimum": 0},
                "status": {"enum": ["available", "reserved", "in_transit"]},
                "source": {
                    "type": "object",
                    "properties": {"system": {"type": "string"}, "instance": {"type": "string"}},
                },
                "tags": {"type": "array", "items": {"type": "string"}},
            },
        }
        new = copy.deepcopy(old)
        change = index % 5
        if change == 0:
            new["properties"]["status"]["enum"].append("damaged")
        elif change == 1:
            new["properties"]["sku"]["maxLength"] = rng.choice([20, 80])
        elif change == 2:
            new["required"].append("status")
        elif change == 3:
            new["properties"]["channel"] = {"type": "string"}
        pairs.append((old, new))
    return pairs
