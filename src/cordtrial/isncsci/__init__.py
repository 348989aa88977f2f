"""ISNCSCI 2019 classification engine.

>>> from cordtrial.isncsci import Exam, classify
>>> result = classify(Exam.from_rhi(rhi_dict))
>>> result.to_rhi()["asiaImpairmentScale"]

See docs/isncsci.md for the rules, their sources and the RHI format.
"""

from .candidates import Candidates
from .classification import RESULT_KEYS, Classification, classify
from .exam import CELL_KEYS, Exam, ExamSide, ExamValidationError, FieldError

#: Version of the classification rules implementation, stored with every classified exam.
#: Raised when a rule changes a result (docs/release-notes.md says which exams it changes).
ENGINE_VERSION = "cordtrial-isncsci-2019/0.2.0"

__all__ = [
    "CELL_KEYS",
    "ENGINE_VERSION",
    "RESULT_KEYS",
    "Candidates",
    "Classification",
    "Exam",
    "ExamSide",
    "ExamValidationError",
    "FieldError",
    "classify",
]
