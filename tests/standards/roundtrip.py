"""Field-by-field comparison of the clinical data of two stores (exported vs re-imported)."""

from __future__ import annotations

from cordtrial.standards.trial import Trial

# Per table: the fields that must survive the round trip (internal ids and user references
# are store-local; patient status is re-derived: an infused patient stays "enrolled" because
# infusions are not imported, see docs/exports.md).
FIELDS = {
    "injuries": ("injury_date", "mechanism", "non_penetrating", "level"),
    "eligibility": ("assessed_on", "criteria", "eligible"),
    "consents": ("consent_date", "form_version", "withdrawn_on"),
    "visits": ("code", "target_date", "window_start", "window_end"),
    "assessments": (
        "kind",
        "visit_code",
        "assessed_on",
        "data",
        "result",
        "engine_version",
        "blinded",
    ),
    "adverse_events": (
        "term",
        "grade_scale",
        "grade",
        "serious",
        "related_product",
        "related_harvest",
        "related_blood_draw",
        "related_infusion",
        "expected",
        "onset_date",
        "resolution_date",
        "outcome",
    ),
}


def clinical_differences(a: Trial, b: Trial, assessor_names: bool = False) -> list[str]:
    diffs = []
    pa = {p["study_code"]: p for p in a.patients}
    pb = {p["study_code"]: p for p in b.patients}
    if set(pa) != set(pb):
        return [f"patients differ: {sorted(set(pa) ^ set(pb))}"]
    sites_a = {s["code"]: (s["name"], s["synthetic"]) for s in a.sites}
    sites_b = {s["code"]: (s["name"], s["synthetic"]) for s in b.sites}
    if sites_a != sites_b:
        diffs.append(f"sites: {sites_a} != {sites_b}")
    for code, p in pa.items():
        q = pb[code]
        for f in (
            "site_code",
            "sex",
            "age_at_injury",
            "synthetic",
            "ended_on",
            "end_reason",
            "end_detail",
        ):
            if p[f] != q[f]:
                diffs.append(f"{code}.{f}: {p[f]!r} != {q[f]!r}")
        expected_status = "enrolled" if p["status"] == "infused" else p["status"]
        if q["status"] != expected_status:
            diffs.append(f"{code}.status: {q['status']!r}, expected {expected_status!r}")
        inj_a, inj_b = a.injuries.get(p["id"]), b.injuries.get(q["id"])
        for f in FIELDS["injuries"]:
            if (inj_a or {}).get(f) != (inj_b or {}).get(f):
                diffs.append(
                    f"{code}.injury.{f}: {(inj_a or {}).get(f)!r} != {(inj_b or {}).get(f)!r}"
                )
        fields = dict(FIELDS)
        if assessor_names:
            fields["assessments"] = (*fields["assessments"], "assessor_name")
        for table in ("eligibility", "consents", "visits", "assessments", "adverse_events"):
            ra, rb = a.rows(table, p), b.rows(table, q)
            if len(ra) != len(rb):
                diffs.append(f"{code}.{table}: {len(ra)} rows != {len(rb)} rows")
                continue
            names = fields[table]

            def key(r, names=names):
                return tuple(str(r.get(f)) for f in names)

            for x, y in zip(sorted(ra, key=key), sorted(rb, key=key), strict=True):
                for f in fields[table]:
                    if x.get(f) != y.get(f):
                        diffs.append(f"{code}.{table}.{f}: {x.get(f)!r} != {y.get(f)!r}")
    return diffs
