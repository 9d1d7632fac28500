"""The rule catalogue, the code that reports rules and docs/rules.md must agree."""

from __future__ import annotations

import re

from registry.diff.catalogue import RULES, SCHEMA_CONTEXTS, SCHEMA_KINDS, schema_rule_id
from registry.rules_doc import render_rules_markdown
from tests.conftest import REPO_ROOT

RULE_LITERAL = re.compile(r'"((?:api|request|response|new|endpoint|schema|comparison|waiver)-[a-z0-9-]+)"')


def test_docs_rules_md_is_generated_from_the_catalogue() -> None:
    documented = (REPO_ROOT / "docs" / "rules.md").read_text()
    assert documented == render_rules_markdown(), (
        "regenerate: stockplane contracts rules --format markdown > docs/rules.md"
    )


def test_every_catalogued_rule_is_documented_with_an_example() -> None:
    documented = (REPO_ROOT / "docs" / "rules.md").read_text()
    for rule in RULES.values():
        assert f"| `{rule.id}` | {rule.severity.value} |" in documented
        assert rule.example and rule.summary


def test_every_rule_id_the_code_names_is_catalogued() -> None:
    sources = [
        p for p in (REPO_ROOT / "registry").rglob("*.py") if p.name not in ("catalogue.py", "rules_doc.py")
    ]
    named = {m for path in sources for m in RULE_LITERAL.findall(path.read_text())}
    # contexts and removal prefixes ("request-parameter", "api-path") name families of rules
    families = {name for name in named if any(rule_id.startswith(f"{name}-") for rule_id in RULES)}
    missing = sorted(name for name in named - families if name not in RULES)
    assert not missing, missing


def test_generated_schema_rules_exist_for_every_context_and_direction() -> None:
    for context, (_, new_reader, old_reader) in SCHEMA_CONTEXTS.items():
        for kind in SCHEMA_KINDS:
            if new_reader:
                assert schema_rule_id(kind, context, reader_is_new=True) in RULES
            if old_reader:
                assert schema_rule_id(kind, context, reader_is_new=False) in RULES


def test_catalogue_is_large_and_ids_are_kebab_case() -> None:
    assert len(RULES) >= 100
    assert all(re.fullmatch(r"[a-z0-9]+(-[a-z0-9]+)*", rule_id) for rule_id in RULES)
