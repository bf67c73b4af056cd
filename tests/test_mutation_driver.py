"""The mutation driver itself (``make mutation`` runs it over the runtime; too slow for ``make test``): on a
tiny project it kills a mutant, reports a survivor and leaves a listed equivalent out of the score."""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

from scripts import mutation

CLAMP = b'''"""A module docstring is never mutated."""


def clamp(value: int, limit: int) -> int:
    if value > limit:
        return limit
    return value
'''
#: ``>`` -> ``>=`` cannot change clamp's result: at value == limit both branches return the same number.
EQUIVALENT = "clamp: compare value > limit -> value >= limit"


def ids(source: bytes) -> list[str]:
    return [m.id for m in mutation.mutants("m.py", source)]


class TestOperators:
    def test_clamps_mutants(self) -> None:
        assert ids(CLAMP) == [EQUIVALENT, "clamp: return None limit -> None", "clamp: return None value -> None"]

    def test_each_operator_and_what_is_left_alone(self) -> None:
        source = b'''from __future__ import annotations
TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any
__all__ = ["f"]


def f(items: list[str], flag: bool = True) -> object:
    """Docstring."""
    key = (items[0].lower(), len(items))
    if not flag and key[1] == 2 or sorted(items):
        logger.info("logged %s", key)
        raise ValueError(f"no {key}")
    try:
        total = key[1] + 1
    except Exception:
        total = 0
    return total
'''
        found = ids(source)
        assert found == [
            "f: constant True -> False",
            "f: delete key = (items[0].lower(), len(items)) -> pass",
            "f: drop element (items[0].lower(), len(items)) -> (items[0].lower(),)",
            "f: drop element (items[0].lower(), len(items)) -> (len(items),)",
            "f: unwrap items[0].lower() -> items[0]",
            "f: constant 0 -> 1",
            "f: drop not not flag -> flag",
            "f: bool op not flag and key[1] == 2 -> not flag or key[1] == 2",
            "f: bool op not flag and key[1] == 2 or sorted(items) -> (not flag and key[1] == 2) and sorted(items)",
            "f: compare key[1] == 2 -> key[1] != 2",
            "f: constant 1 -> 2",
            "f: constant 2 -> 3",
            "f: unwrap sorted(items) -> items",
            'f: delete raise ValueError(f"no {key}") -> pass',  # the message is not mutated, nor the log call
            "f: delete total = key[1] + 1 -> pass",
            "f: arithmetic key[1] + 1 -> key[1] - 1",
            "f: constant 1 -> 2 #2",
            "f: constant 1 -> 2 #3",
            "f: delete total = 0 -> pass",
            "f: constant 0 -> 1 #2",
            "f: re-raise except Exception -> raise",
            "f: return None total -> None",
        ]

    @pytest.mark.parametrize("target", mutation.TARGETS, ids=lambda t: t.name)
    def test_every_mutant_of_the_runtime_parses_and_has_its_own_id(self, target: mutation.Target) -> None:
        for source in target.sources:
            original = (mutation.ROOT / source).read_bytes()
            found = mutation.mutants(source, original)
            assert len({m.id for m in found}) == len(found) > 20
            for mutant in found:
                ast.parse(mutant.apply(original), filename=f"{source}: {mutant.id}")

    def test_every_listed_equivalent_is_a_mutant_of_a_target_with_a_reason(self) -> None:
        listed = mutation.load_equivalents()
        assert mutation.stale_equivalents(mutation.TARGETS, mutation.ROOT, listed) == []
        assert all(reason.strip() for reason in listed.values())


def test_a_run_kills_reports_survivors_and_leaves_equivalents_out(tmp_path: Path) -> None:
    # GIVEN a project whose test checks clamp only above the limit
    (tmp_path / "pkg").mkdir()
    (tmp_path / "pkg" / "__init__.py").write_text("")
    (tmp_path / "pkg" / "calc.py").write_bytes(CLAMP)
    (tmp_path / "tests").mkdir()
    (tmp_path / "tests" / "test_calc.py").write_text(
        "from pkg.calc import clamp\n\n\ndef test_above() -> None:\n    assert clamp(5, 3) == 3\n")
    target = mutation.Target("calc", ("pkg/calc.py",), ("tests/test_calc.py",))
    # WHEN the driver runs with the > -> >= mutant listed as equivalent
    result = mutation.run_target(target, tmp_path, {("pkg/calc.py", EQUIVALENT): "same result at the boundary"},
                                 timeout=120, env=mutation.child_environment(tmp_path), progress=False)
    # THEN returning None for the limit is caught, returning None for the value survives, and the score is 1 of 2
    assert [m.id for m in result.killed] == ["clamp: return None limit -> None"]
    assert [m.id for m in result.survived] == ["clamp: return None value -> None"]
    assert [m.id for m in result.equivalent] == [EQUIVALENT]
    assert result.score == 50.0
    assert "SURVIVED pkg/calc.py:7  clamp: return None value -> None" in mutation.report([result])
    # AND the source is restored
    assert (tmp_path / "pkg" / "calc.py").read_bytes() == CLAMP
