"""International SCI Lower Urinary Tract Function Basic Data Set, version 2.0 (ISCoS/ASIA).

The form implements version 2.0 (Biering-Sørensen et al., Spinal Cord Series and Cases 2018),
the revision of version 1.0 (Biering-Sørensen et al., Spinal Cord 2008;46:325-30). A descriptive
record, not a score. The reference (../shared/reference/instruments.md, Bladder) tags the data
set's existence [V] but its variables [R], so every item here is unverified until checked
against the v2.0 data collection form. Whether the answer codes need "not applicable" (the
sibling ISCoS bowel data set has it) could not be checked; no such code is added. "unknown",
"other" and "none" answers are added for data entry and flagged as not from the reference.
The validated coarse bladder score is SCIM III item 6 (see scim.py).
"""

from __future__ import annotations

from .definition import Evidence, Instrument, Item, ItemKind, Option, Part

V2 = (
    "Biering-Sørensen F, Kennelly M, Kessler TM, Linsenmeyer T, Pannek J, Vogel L, "
    "Wyndaele JJ. International Spinal Cord Injury Lower Urinary Tract Function Basic Data Set "
    "(version 2.0). Spinal Cord Series and Cases 2018 (doi:10.1038/s41394-018-0090-7)"
)
V1 = (
    "Biering-Sørensen F, Craggs M, Kennelly M, Schick E, Wyndaele JJ. International lower "
    "urinary tract function basic spinal cord injury data set. Spinal Cord 2008;46:325-30"
)

SOURCE = (
    f"Implements version 2.0: {V2}; revision of version 1.0: {V1}. ISCoS/ASIA. Project "
    "reference instruments.md: the data set is [V], its variables [R] (unverified until checked "
    "against the v2.0 data collection form)."
)

_R_NOTE = "variable tagged [R] in the reference"
_ADDED = "answer added for data entry; not listed in the reference"


def _unknown(**kw) -> Option:
    return Option("unknown", "unknown", meaning_from_reference=False, note=_ADDED, **kw)


# Bladder-emptying methods as listed in the reference.
METHODS: tuple[tuple[str, str], ...] = (
    ("normal_voiding", "normal voiding"),
    ("reflex_triggering", "bladder reflex triggering"),
    ("straining", "straining"),
    ("external_compression", "external compression"),
    ("intermittent_self_catheterisation", "intermittent self-catheterisation"),
    ("intermittent_attendant_catheterisation", "intermittent catheterisation by an attendant"),
    ("indwelling_urethral_catheter", "indwelling urethral catheter"),
    ("suprapubic_catheter", "suprapubic catheter"),
    ("sacral_anterior_root_stimulation", "sacral anterior root stimulation"),
    ("non_continent_diversion", "non-continent urinary diversion"),
)


def _method_options(*, multi: bool) -> tuple[Option, ...]:
    opts = [Option(v, text, verified=False) for v, text in METHODS]
    opts.append(Option("other", "other method", meaning_from_reference=False, note=_ADDED))
    if multi:
        opts.insert(
            0,
            Option(
                "none",
                "no supplementary method",
                meaning_from_reference=False,
                note=_ADDED,
                exclusive=True,
            ),
        )
    opts.append(_unknown(exclusive=multi))
    return tuple(opts)


def _no_yes(yes_text: str = "yes") -> tuple[Option, ...]:
    return (
        Option("no", "no", verified=False),
        Option("yes", yes_text, verified=False),
        _unknown(),
    )


def _item(item_id: str, number: str, label: str, **kw) -> Item:
    return Item(item_id, number, label, verified=False, note=_R_NOTE, **kw)


ITEMS = (
    _item(
        "awareness_of_need_to_empty",
        "1",
        "Awareness of the need to empty the bladder",
        options=_no_yes(),
    ),
    _item(
        "main_emptying_method",
        "2a",
        "Main bladder-emptying method",
        options=_method_options(multi=False),
    ),
    _item(
        "supplementary_emptying_methods",
        "2b",
        "Supplementary bladder-emptying methods",
        kind=ItemKind.MULTI_CHOICE,
        options=_method_options(multi=True),
    ),
    _item(
        "voluntary_emptyings_per_day",
        "3",
        "Average number of voluntary bladder emptyings per day",
        kind=ItemKind.COUNT,
        minimum=0,
        # A data-entry plausibility bound, not a clinical rule.
        maximum=50,
        unit="per day",
    ),
    _item(
        "involuntary_leakage_last_3_months",
        "4",
        "Involuntary urine leakage (incontinence) in the last 3 months",
        options=(
            Option("daily", "daily", verified=False),
            Option("weekly", "weekly", verified=False),
            Option("monthly", "monthly", verified=False),
            Option("less_than_monthly", "less than monthly", verified=False),
            Option("never", "never", verified=False),
            _unknown(),
        ),
    ),
    _item(
        "collecting_appliances",
        "5",
        "Use of collecting appliances for urinary incontinence",
        options=_no_yes(),
    ),
    _item("urinary_tract_drugs", "6", "Any drugs for the urinary tract", options=_no_yes()),
    _item(
        "urinary_tract_surgery", "7", "Surgical procedures on the urinary tract", options=_no_yes()
    ),
    _item("change_in_symptoms", "8", "Any change in urinary symptoms", options=_no_yes()),
)

LUTF = Instrument(
    id="lutf",
    name="International SCI Lower Urinary Tract Function Basic Data Set v2.0",
    short_name="LUTF basic data set",
    description="Descriptive record of bladder function and management; it has no score.",
    source=SOURCE,
    items=ITEMS,
    notes=(
        "All variables are tagged [R] in the reference and shown as unverified.",
        "Answer categories for drugs, surgery and appliances are simplified to no/yes/unknown "
        "because the reference does not list the data set's sub-categories.",
    ),
    parts=(
        Part(
            "the data set and the version implemented (2.0)",
            Evidence.VERIFIED,
            f"{V2}; version 1.0: {V1}",
        ),
        Part(
            "variables 1-8 and their answer categories",
            Evidence.UNVERIFIED,
            "project reference instruments.md (tagged [R])",
            "to check against the v2.0 data collection form",
        ),
        Part(
            "'not applicable' answer codes",
            Evidence.UNVERIFIED,
            V2,
            "the ISCoS bowel basic data set has them; whether v2.0 of this data set does could "
            "not be checked (its form was not retrieved), so none is offered",
        ),
        Part(
            "the 'unknown', 'other' and 'none' answers and the bound of 50 emptyings a day",
            Evidence.UNVERIFIED,
            "added by this project for data entry",
            "not clinical rules; flagged as not from the reference",
        ),
    ),
)
