from __future__ import annotations

from pathlib import Path

import pytest

from registry.refs import RefResolver
from registry.sources import open_side
from stockplane.documents import Document
from stockplane.errors import DocumentError
from stockplane.settings import RegistrySettings


def resolver(data: dict) -> RefResolver:
    return RefResolver(Document(data=data, source="doc.json"))


def test_internal_pointer_and_anchor() -> None:
    data = {
        "definitions": {"A": {"type": "string"}, "B": {"$id": "#Bee", "type": "integer"}},
        "properties": {"a": {"$ref": "#/definitions/A"}, "b": {"$ref": "#Bee"}},
    }
    refs = resolver(data)
    assert refs.deref(data["properties"]["a"])[0] == {"type": "string"}
    assert refs.deref(data["properties"]["b"])[0]["type"] == "integer"


def test_recursive_schemas_are_fine() -> None:
    data = {
        "definitions": {"Node": {"type": "object", "properties": {"next": {"$ref": "#/definitions/Node"}}}}
    }
    target, name = resolver(data).deref({"$ref": "#/definitions/Node"})
    assert name == "#/definitions/Node"
    assert target["properties"]["next"]["$ref"] == "#/definitions/Node"


def test_bare_reference_cycle_is_refused() -> None:
    data = {"definitions": {"A": {"$ref": "#/definitions/B"}, "B": {"$ref": "#/definitions/A"}}}
    with pytest.raises(DocumentError, match="cycle"):
        resolver(data)


@pytest.mark.parametrize(
    ("ref", "message"),
    [
        ("https://example.com/schema.json", "remote"),
        ("http://example.com/s.json#/a", "remote"),
        ("#/definitions/Missing", "points to nothing"),
        ("#NoSuchAnchor", "no anchor"),
    ],
)
def test_bad_references_are_refused(ref: str, message: str) -> None:
    with pytest.raises(DocumentError, match=message):
        resolver({"definitions": {}, "properties": {"a": {"$ref": ref}}})


def test_reference_to_own_id_is_internal() -> None:
    data = {
        "$id": "https://stockplane.dev/envelope.json",
        "definitions": {"A": {"type": "string"}},
        "properties": {"a": {"$ref": "https://stockplane.dev/envelope.json#/definitions/A"}},
    }
    assert resolver(data).deref(data["properties"]["a"])[0] == {"type": "string"}


def test_relative_files_are_loaded_and_their_own_refs_resolved(tmp_path: Path) -> None:
    (tmp_path / "schemas").mkdir()
    (tmp_path / "schemas" / "stock.yaml").write_text(
        "Stock:\n  type: object\n  properties:\n    sku: {$ref: '#/Sku'}\nSku:\n  type: string\n  maxLength: 20\n"
    )
    (tmp_path / "api.yaml").write_text(
        "type: object\nproperties:\n  stock: {$ref: 'schemas/stock.yaml#/Stock'}\n"
    )
    side = open_side(str(tmp_path / "api.yaml"), RegistrySettings())
    stock, _ = side.resolver.deref(side.document.data["properties"]["stock"])
    sku, name = side.resolver.deref(stock["properties"]["sku"])
    assert sku == {"type": "string", "maxLength": 20}
    assert name == "schemas/stock.yaml#/Sku"


@pytest.mark.parametrize("ref", ["../outside.yaml", "/etc/passwd", "sub/../../outside.yaml"])
def test_files_outside_the_document_folder_are_refused(tmp_path: Path, ref: str) -> None:
    folder = tmp_path / "api"
    folder.mkdir()
    (tmp_path / "outside.yaml").write_text("type: string\n")
    (folder / "api.yaml").write_text(f"type: object\nproperties:\n  a: {{$ref: '{ref}'}}\n")
    with pytest.raises(DocumentError, match=r"outside|escapes"):
        open_side(str(folder / "api.yaml"), RegistrySettings())
