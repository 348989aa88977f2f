"""``--explain``: one sentence per result, each citing the rule it applies, from the module
that holds that rule's only implementation."""

from __future__ import annotations

import importlib

from cordtrial.isncsci import Exam, classify
from cordtrial.isncsci.explain import explain
from cordtrial.isncsci.rules import all_rules
from cordtrial.isncsci.synthetic import generate_exams


def test_every_rule_lives_in_its_module():
    for rule in all_rules():
        module = importlib.import_module(rule.module)
        assert any(value is rule for value in vars(module).values()), rule.name
        assert rule.statement.endswith(".")


def test_every_explanation_line_cites_its_rule():
    rules = all_rules()
    for exam in generate_exams(30, 8, nt_rate=0.5, flag_rate=0.5):
        lines = explain(classify(Exam.from_rhi(exam)))
        assert len(lines) == 12  # totals, 2 sensory, 2 motor, NLI, completeness, AIS, 4 ZPP
        for line in lines:
            cited = [r for r in rules if f"(ISNCSCI 2019, {r.name}: {r.statement}" in line]
            assert len(cited) == 1, line
            assert f"[{cited[0].module}]" in line
            assert ("docs/isncsci-differential.md" in line) == ("*" in line.split(" (ISNCSCI")[0])


def test_explanation_names_the_deciding_cells():
    exam = generate_exams(1, 2, pattern_weights={"normal": 1.0}, nt_rate=0, flag_rate=0,
                          nonkey_rate=0, anal_nt_rate=0)[0]  # fmt: skip
    exam["c6RightTouch"] = "1"
    lines = explain(classify(Exam.from_rhi(exam)))
    assert lines[1].startswith("right sensory level C5: sensation normal from C2 to C5; "
                               "C6 light touch 1, pin prick 2 is not normal")  # fmt: skip
    assert "sensory level: The sensory level is the most caudal dermatome" in lines[1]
