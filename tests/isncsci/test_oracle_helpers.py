"""The differential test's own helpers (no Node.js needed): NT completions and merging."""

from __future__ import annotations

from cordtrial.isncsci.synthetic import GeneratorSettings, exam_at

from .oracle import Disagreement, _merge, compare, nt_completions

NO_NT = GeneratorSettings(nt_rate=0.0, anal_nt_rate=0.0, flag_rate=0.0)


def test_completions_expand_plain_nt_only() -> None:
    exam = exam_at(0, 0, NO_NT)
    exam.update(c5RightMotor="NT", c6LeftTouch="NT", analContraction="NT")
    exam["c7LeftMotor"] = "NT**"  # flagged NT: its meaning is the engines' business, not expanded
    done = nt_completions(exam)
    assert done is not None and len(done) == 6 * 3 * 2
    assert {e["c5RightMotor"] for e in done} == set("012345")
    assert {e["c6LeftTouch"] for e in done} == {"0", "1", "2"}
    assert {e["analContraction"] for e in done} == {"Yes", "No"}
    assert all(e["c7LeftMotor"] == "NT**" for e in done)
    assert len({tuple(sorted(e.items())) for e in done}) == len(done)


def test_completions_give_up_beyond_the_limit_or_without_nt() -> None:
    exam = exam_at(0, 1, NO_NT)
    assert nt_completions(exam) is None
    for muscle in ("c5", "c6", "c7", "c8", "t1"):
        exam[f"{muscle}RightMotor"] = "NT"
    assert nt_completions(exam, limit=6**5) is not None
    assert nt_completions(exam, limit=6**5 - 1) is None


def test_merge_keeps_a_star_only_when_every_answer_starred_the_value() -> None:
    assert _merge(["T1,L4*", "L4*"]) == {"T1", "L4*"}
    assert _merge(["C4*", "C4", "C5*"]) == {"C4", "C5*"}
    assert _merge(["NA"]) == {"NA"}


def test_compare_reports_each_differing_field_and_one_sided_errors() -> None:
    ours = {"totals": {"asiaImpairmentScale": "C", "injuryComplete": "I"}}
    theirs = {"totals": {"asiaImpairmentScale": "C*", "injuryComplete": "I"}}
    assert [d for d in compare(7, ours, theirs) if d.field == "asiaImpairmentScale"] == [
        Disagreement(7, "asiaImpairmentScale", "C", "C*")
    ]
    assert compare(7, {"error": "bad"}, {"error": "worse"}) == []
    assert compare(7, {"error": "bad"}, theirs) == [Disagreement(7, "error", "bad", "ok")]
