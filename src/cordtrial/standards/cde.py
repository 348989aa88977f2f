"""NINDS spinal cord injury common data elements (CDEs) carried as metadata.

Only element ids we could check are used ([V2] NINDS CDE detailed-report pages, as listed in
../shared/reference/standards.md "NINDS spinal cord injury common data elements"):

- C19247 ``SubIDNam``: subject identifier
- C06005 ``DataCollDateTime``: data collection date and time (ISO 8601)
- C06007 ``SCIClssSensNeuroLvlRtReslt``: sensory level, right
- C06006 ``SCIClssSensNeuroLvlLftReslt``: sensory level, left

The element ids of the motor levels, the NLI, the AIS grade, the totals and the SCIM III items
were not retrieved, so those variables carry no CDE rather than a guessed id (docs/exports.md).
"""

from __future__ import annotations

SUBJECT_ID = ("C19247", "SubIDNam")
COLLECTION_DATETIME = ("C06005", "DataCollDateTime")
SENSORY_LEVEL_RIGHT = ("C06007", "SCIClssSensNeuroLvlRtReslt")
SENSORY_LEVEL_LEFT = ("C06006", "SCIClssSensNeuroLvlLftReslt")

# ISNCSCI classification result key (RHI naming) -> CDE
ISNCSCI_RESULTS: dict[str, tuple[str, str]] = {
    "rightSensory": SENSORY_LEVEL_RIGHT,
    "leftSensory": SENSORY_LEVEL_LEFT,
}

CONTEXT = "NINDS CDE"  # the Alias context in ODM / Define-XML
