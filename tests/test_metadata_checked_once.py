"""``CoreMetadata.from_values`` checks the values once and gives what the constructor would.

Issue 18: the rules ran twice per certificate read (once in ``from_values``, again in
``__post_init__``).  Now ``from_values`` checks the values as the constructor would see them and
builds the value from that check's normalised result; these tests hold it to the constructor's
result and decisions, on the published vectors and on values that need normalising.
"""

from __future__ import annotations

import dataclasses
import json
from importlib import resources
from typing import Any

import pytest

from ecert.errors import InvalidMetadata
from ecert.metadata import CoreMetadata, model, rules

VECTORS = resources.files("ecert") / "spec" / "vectors" / "metadata"
CASES: list[dict[str, Any]] = json.loads((VECTORS / "records.json").read_text("utf-8"))["cases"]


def _outcome(build: Any) -> object:
    try:
        return build()
    except InvalidMetadata as exc:
        return ("refused", sorted(p.field for p in exc.problems))


def _constructor(md: CoreMetadata) -> CoreMetadata:
    return CoreMetadata(**{f.name: getattr(md, f.name) for f in dataclasses.fields(md)})


@pytest.mark.parametrize("case", CASES, ids=lambda c: str(c.get("name", c.get("id", "case"))))
def test_vectors_give_the_constructors_value(case: dict[str, Any]) -> None:
    outcome = _outcome(lambda: CoreMetadata.from_dict(case["record"]))
    if isinstance(outcome, CoreMetadata):
        assert _constructor(outcome) == outcome
        assert hash(outcome) == hash(_constructor(outcome))


def test_normalised_values_equal_the_constructors(monkeypatch: pytest.MonkeyPatch) -> None:
    record = dict(CASES[0]["record"])
    padded = {k: f"  {v}  " if isinstance(v, str) else v for k, v in record.items()}
    md = CoreMetadata.from_dict(padded)
    assert md == CoreMetadata.from_dict(record)
    assert md == _constructor(md)


def test_the_rules_run_once(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[int] = []
    real = rules.check

    def counting(v: dict[str, Any]) -> list[Any]:
        calls.append(1)
        return real(v)

    monkeypatch.setattr(model, "check", counting)
    CoreMetadata.from_dict(CASES[0]["record"])
    assert len(calls) == 1


@pytest.mark.parametrize("broken", ["issuer_code", "identifier", "issue_date"])
def test_refusals_are_the_same(broken: str) -> None:
    record = dict(CASES[0]["record"])
    key = next(k for k in record if model.attr_for_key(k) == broken)
    record[key] = "???"
    outcome = _outcome(lambda: CoreMetadata.from_dict(record))
    assert isinstance(outcome, tuple) and broken in outcome[1]
