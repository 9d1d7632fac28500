from __future__ import annotations

import json
from pathlib import Path

import pytest

from stockplane.documents import load_document, load_text
from stockplane.errors import DocumentError

LIMITS = {"max_bytes": 1_000_000, "max_depth": 50}

YAML_DOC = b"""\
openapi: 3.0.3
info:
  title: Stock
  version: 1.10
paths:
  /stock:
    get:
      x-sunset: 2030-01-01
      responses:
        200:
          description: ok
"""


def load(raw: bytes, **limits: int):
    return load_text(raw, source="doc", **{**LIMITS, **limits})


def test_yaml_keeps_versions_dates_and_status_codes_as_strings() -> None:
    document = load(YAML_DOC)
    assert document.data["info"]["version"] == "1.10"
    assert document.data["paths"]["/stock"]["get"]["x-sunset"] == "2030-01-01"
    assert "200" in document.data["paths"]["/stock"]["get"]["responses"]


def test_yaml_number_version_is_reported_with_its_line() -> None:
    (warning,) = load(YAML_DOC).warnings
    assert warning.pointer == "/info/version"
    assert warning.line == 4
    assert "1.10" in warning.message


def test_yaml_lines_of_pointers() -> None:
    document = load(YAML_DOC)
    assert document.line_of("/paths/~1stock/get/responses/200/description") == 11
    assert document.line_of("/info/title") == 3
    # a pointer into something absent lands on the deepest part that exists
    assert document.line_of("/paths/~1stock/get/parameters/0") == 7


def test_json_lines_of_pointers_match_the_text() -> None:
    data = {"openapi": "3.1.0", "paths": {"/a/b": {"get": {"tags": ["x", "y"], "responses": {"200": {}}}}}}
    text = json.dumps(data, indent=2)
    document = load(text.encode())
    lines = text.splitlines()
    line = document.line_of("/paths/~1a~1b/get/tags/1")
    assert lines[line - 1].strip() == '"y"'
    assert '"responses"' in lines[document.line_of("/paths/~1a~1b/get/responses") - 1]


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        (b'{"a": 1, "b": {"c": 1, "c": 2}}', "duplicate key 'c'"),
        (b"a: 1\nb:\n  c: 1\n  c: 2\n", "duplicate key 'c'"),
        (b"\x89PNG\r\n\x1a\n\x00\x00", "binary"),
        (b"\xff\xfe\xfa", "not UTF-8"),
        (b"   \n", "empty"),
        (b"- a\n- b\n", "mapping at the top"),
        (b"a: [1, 2\n", "invalid YAML"),
        (b'{"a": }', "invalid JSON"),
        (b"a: !!python/object:os.system {}\n", "invalid YAML"),
    ],
)
def test_bad_documents_are_refused_with_a_clear_message(raw: bytes, message: str) -> None:
    with pytest.raises(DocumentError, match=message):
        load(raw)


def test_duplicate_json_key_reports_the_line_of_the_repeat() -> None:
    with pytest.raises(DocumentError) as caught:
        load(b'{\n  "a": 1,\n  "b": 2,\n  "a": 3\n}')
    assert caught.value.line == 4


def test_size_limit(tmp_path: Path) -> None:
    path = tmp_path / "big.yaml"
    path.write_bytes(b"a: 1\n" + b"#" * 2000)
    with pytest.raises(DocumentError, match=r"over the 0\.0 MB limit"):
        load_document(path, max_bytes=1000, max_depth=10)


@pytest.mark.parametrize("raw", [b"[" * 10_000 + b"]" * 10_000, b"a: " + b"[" * 10_000 + b"]" * 10_000])
def test_deep_nesting_is_refused_without_recursion_error(raw: bytes) -> None:
    raw = b'{"a": ' + raw + b"}" if raw.startswith(b"[") else raw
    with pytest.raises(DocumentError, match="nested"):
        load(raw)


def test_nesting_limit_is_configurable() -> None:
    nested = b"a:\n b:\n  c:\n   d: 1\n"
    assert load(nested, max_depth=5).data["a"]["b"]["c"]["d"] == 1
    with pytest.raises(DocumentError, match="more than 3 levels"):
        load(nested, max_depth=3)


def test_alias_bomb_is_refused_quickly() -> None:
    lines = ['a0: &a0 ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    for level in range(1, 12):
        refs = ", ".join([f"*a{level - 1}"] * 10)
        lines.append(f"a{level}: &a{level} [{refs}]")
    with pytest.raises(DocumentError, match="expands to more than"):
        load("\n".join(lines).encode() + b"\n")


def test_recursive_alias_is_refused() -> None:
    with pytest.raises(DocumentError, match="contains itself"):
        load(b"a: &x\n  b: *x\n")


def test_modest_alias_use_is_fine() -> None:
    document = load(b"base: &base {type: string}\nother: *base\n")
    assert document.data["other"] is document.data["base"]


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ('{"a": NaN}', "NaN is not JSON"),
        ('{"a": -Infinity}', "-Infinity is not JSON"),
        ('{"a": "\\ud800"}', "half a surrogate pair"),
        ('{"a": "x\\udc00"}', "half a surrogate pair"),
        ("[" * 100_000 + "]" * 100_000, "nested too deeply"),
    ],
)
def test_what_is_not_json_is_refused(text: str, reason: str) -> None:
    with pytest.raises(DocumentError, match=reason):
        load_text(text.encode(), source="doc.json", max_bytes=10**7, max_depth=200)


def test_a_surrogate_pair_is_json() -> None:
    document = load_text(b'{"a": "\\ud83d\\ude00"}', source="doc.json", max_bytes=10**6, max_depth=200)
    assert document.data == {"a": "😀"}


def test_parsing_json_costs_little_more_than_its_result() -> None:
    """orjson peaked at three times the tree it built; the standard decoder does not."""
    import gc
    import json
    import tracemalloc

    text = json.dumps(
        {
            "paths": {
                f"/v1/items/{n}": {"get": {"responses": {"200": {"description": "ok"}}}}
                for n in range(20_000)
            }
        }
    )
    gc.collect()
    tracemalloc.start()
    try:
        document = load_text(text.encode(), source="big.json", max_bytes=10**8, max_depth=200)
        kept, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert document.data["paths"]
    assert peak < 1.6 * kept, (peak, kept)
