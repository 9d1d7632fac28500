from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import pytest

from policies import BUILTIN_PACKS, PackError, load_pack
from policies.merge import deep_merge
from tests.conftest import FIXTURES, REPO_ROOT

BROKEN = FIXTURES / "policies" / "broken"
ACME = REPO_ROOT / "docs" / "examples" / "acme-retail"


def test_default_pack_encodes_the_brief() -> None:
    pack = load_pack()
    assert pack.label == "retail-omnichannel@1.0.0"
    assert set(pack.statuses.canonical) == {
        "available",
        "reserved",
        "in_transit",
        "damaged",
        "quarantined",
        "return_pending",
    }
    assert set(pack.workflows) == {
        "store_sale",
        "ecommerce_order",
        "marketplace_order",
        "click_and_collect",
        "store_return",
        "cycle_count",
        "transfer",
    }
    assert pack.workflows["store_sale"].initiating.type == "pos.sale"
    assert pack.statuses.canonicalize("wms", "qa_hold") == "quarantined"
    assert pack.statuses.canonicalize("wms", "mystery") is None  # never guessed
    latency = pack.slos["pos-sale-to-ecommerce-availability"]
    assert (latency.threshold, latency.target, latency.window) == (
        timedelta(seconds=60),
        0.99,
        timedelta(days=28),
    )
    assert [(a.burn_rate, a.long_window, a.short_window) for a in latency.alerts] == [
        (14.4, timedelta(hours=1), timedelta(minutes=5)),
        (6.0, timedelta(hours=6), timedelta(minutes=30)),
        (1.0, timedelta(days=3), timedelta(hours=6)),
    ]
    assert pack.slos["stock-accuracy"].tolerance["by_abc_class"] == {"A": 1, "B": 3, "C": 5}
    assert (pack.compatibility["events"].mode, pack.compatibility["events"].policy) == (
        "BACKWARD_TRANSITIVE",
        "strict",
    )
    assert (pack.compatibility["apis"].mode, pack.compatibility["apis"].policy) == ("BACKWARD", "lenient")
    assert (pack.deprecation.notice_days("stable"), pack.deprecation.notice_days("beta")) == (90, 30)


def test_envelope_schema_accepts_a_canonical_event_and_refuses_bad_ones() -> None:
    import jsonschema

    envelope = dict(load_pack().envelope)
    validator = jsonschema.Draft202012Validator(_thaw(envelope), format_checker=jsonschema.FormatChecker())
    event = {
        "event_id": "e-1",
        "correlation_id": "order-77",
        "type": "inventory.reserved",
        "schema_version": "1.2.0",
        "source": {"system": "oms", "instance": "oms-eu"},
        "occurred_at": "2026-11-28T09:00:00+01:00",
        "status": "ok",
        "sku": "SKU-1",
        "quantity": 2,
        "inventory_status": "reserved",
    }
    assert validator.is_valid(event)
    for bad in (
        {"quantity": 1.5},
        {"inventory_status": ""},  # a system's own word is mapped later; an empty one is nothing
        {"occurred_at": "2026-11-28T09:00:00"},
        {"status": "error"},
        {"event_id": ""},
    ):
        assert not validator.is_valid({**event, **bad}), bad
    # systems send their own status words: the pack maps them (and the correlator flags the rest)
    assert validator.is_valid({**event, "inventory_status": "on_hand"})


def _thaw(value):  # type: ignore[no-untyped-def]
    from policies.loader import _thaw as thaw

    return thaw(value)


def test_pack_is_immutable() -> None:
    pack = load_pack()
    with pytest.raises(TypeError):
        pack.slos["oversell-rate"] = None  # type: ignore[index]
    with pytest.raises(AttributeError):
        pack.name = "other"  # type: ignore[misc]


def test_every_mistake_is_reported_with_file_and_line() -> None:
    with pytest.raises(PackError) as caught:
        load_pack(BROKEN)
    problems = caught.value.problems
    marked = {
        (path.name, number)
        for path in BROKEN.iterdir()
        for number, line in enumerate(path.read_text().splitlines(), start=1)
        if "# mistake" in line
    }
    reported = {(Path(p.file).name, p.line) for p in problems}
    assert len(marked) >= 10
    assert marked <= reported, sorted(marked - reported)
    assert all(p.line for p in problems)


def test_extends_overrides_only_what_differs() -> None:
    base, acme = load_pack(), load_pack(ACME)
    assert acme.label == "acme-retail@2.3.0"
    assert acme.lineage == ("retail-omnichannel", "acme-retail")
    assert acme.slos["marketplace-oversell-rate"].target == 0.995
    assert acme.slos["marketplace-oversell-rate"].window == base.slos["marketplace-oversell-rate"].window
    assert acme.statuses.canonicalize("wms", "QI") == "quarantined"
    assert acme.statuses.canonicalize("wms", "qa_hold") == "quarantined"  # inherited
    assert acme.workflows == base.workflows


def test_deep_merge_semantics() -> None:
    assert deep_merge({"a": {"x": 1, "y": 2}, "l": [1, 2]}, {"a": {"y": 3}, "l": [9]}) == {
        "a": {"x": 1, "y": 3},
        "l": [9],
    }
    assert deep_merge({"a": {"x": 1}}, {"a": {"x": None}}) == {"a": {}}


def test_extends_loop_and_missing_base(tmp_path: Path) -> None:
    one, two = tmp_path / "one", tmp_path / "two"
    one.mkdir()
    two.mkdir()
    (one / "pack.yaml").write_text("name: one\nversion: 1.0.0\nextends: ../two\n")
    (two / "pack.yaml").write_text("name: two\nversion: 1.0.0\nextends: ../one\n")
    with pytest.raises(PackError, match="loops back"):
        load_pack(one)
    (two / "pack.yaml").write_text("name: two\nversion: 1.0.0\nextends: nowhere\n")
    with pytest.raises(PackError, match="neither a folder nor a built-in pack"):
        load_pack(one)


def test_unreadable_section_is_a_problem_not_a_crash(tmp_path: Path) -> None:
    (tmp_path / "pack.yaml").write_text("name: x\nversion: 1.0.0\n")
    (tmp_path / "slos.yaml").write_text("slos:\n  a: [unclosed\n")
    with pytest.raises(PackError) as caught:
        load_pack(tmp_path)
    assert caught.value.problems[0].file.endswith("slos.yaml")
    assert "invalid YAML" in caught.value.problems[0].message


def test_default_pack_ships_in_the_package() -> None:
    assert (BUILTIN_PACKS / "retail-omnichannel" / "pack.yaml").exists()


class TestCli:
    def test_validate_default_and_broken(self, cli) -> None:
        ok = cli("policy", "validate")
        assert ok.code == 0
        assert "retail-omnichannel@1.0.0 is valid" in ok.stdout
        broken = cli("policy", "validate", BROKEN)
        assert broken.code == 1
        assert "14 problem(s)" in broken.stdout
        assert cli("policy", "validate", "/nonexistent/pack").code == 2
        report = json.loads(cli("policy", "validate", BROKEN, "--format", "json").stdout)
        assert report["valid"] is False
        assert len(report["problems"]) == 14
        assert all(problem["line"] for problem in report["problems"])

    def test_show_merged_pack(self, cli, monkeypatch: pytest.MonkeyPatch) -> None:
        monkeypatch.setenv("STOCKPLANE_POLICY_PACK", str(ACME))
        result = cli("policy", "show", "--section", "statuses")
        assert result.code == 0
        assert "QI: quarantined" in result.stdout
        assert "acme-retail" in result.stdout
        assert cli("policy", "show", "--section", "nope").code == 2

    def test_policy_pack_option_beats_the_environment(self, cli, monkeypatch: pytest.MonkeyPatch) -> None:
        monkeypatch.setenv("STOCKPLANE_POLICY_PACK", str(BROKEN))
        assert cli("policy", "show", "--policy-pack", "retail-omnichannel", "--format", "json").code == 0
        assert cli("policy", "show").code == 2
