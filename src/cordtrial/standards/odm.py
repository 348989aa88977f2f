"""CDISC ODM 1.3.2: the clinical data with their metadata, written with odmlib.

Study events are the protocol visits (plus enrolment and adverse events), forms are
:data:`.crf.FORMS`, one item group per form. Sites are AdminData Locations. Read back by
:mod:`.odm_read` into form records, which :mod:`.clinical_import` stores.
"""

from __future__ import annotations

from pathlib import Path

from cordtrial import __version__

from . import cde, crf
from .odmns import odm_namespaces
from .trial import Trial

MDV = "MDV.CORDTRIAL"
_ODM_TYPES = {
    "text": "text",
    "integer": "integer",
    "float": "float",
    "date": "date",
    "boolean": "boolean",
    "choice": "text",
    "multi": "text",
}


def event_oid(event: str) -> str:
    return f"SE.{event.upper()}"


def form_oid(form: str) -> str:
    return f"F.{form.upper()}"


def group_oid(form: str) -> str:
    return f"IG.{form.upper()}"


def item_oid(form: str, field: str) -> str:
    return f"IT.{form.upper()}.{field.upper()}"


def location_oid(site: str) -> str:
    return f"LOC.{site}"


def _forms_of(event: str) -> list[crf.Form]:
    if event == crf.ENROLMENT:
        return [f for f in crf.FORMS if f.events == "enrolment"]
    if event == crf.AE_EVENT:
        return [f for f in crf.FORMS if f.events == "adverse_events"]
    forms = [f for f in crf.FORMS if f.events == "visits"]
    if event == "infusion_day":
        forms.append(crf.FORM["infusion"])
    if event == "unscheduled":
        forms = [f for f in forms if f.name != "visit_schedule"]
    return forms


def _integer_choices(f: crf.Field) -> bool:
    return bool(f.choices) and all(c.lstrip("-").isdigit() for c, _ in f.choices)


def metadata(M):
    events, forms, groups, items, codelists = [], [], [], [], []
    for event in crf.EVENTS:
        kind = (
            "Unscheduled"
            if event == "unscheduled"
            else "Common"
            if event in (crf.ENROLMENT, crf.AE_EVENT)
            else "Scheduled"
        )
        events.append(
            M.StudyEventDef(
                OID=event_oid(event), Name=crf.event_label(event), Repeating="Yes" if event in crf.REPEATING_EVENTS else "No", Type=kind,
                FormRef=[M.FormRef(FormOID=form_oid(f.name), OrderNumber=n, Mandatory="No") for n, f in enumerate(_forms_of(event), start=1)],
            )
        )  # fmt: skip
    for form in crf.FORMS:
        forms.append(
            M.FormDef(
                OID=form_oid(form.name),
                Name=form.label,
                Repeating="Yes" if form.repeating else "No",
                ItemGroupRef=[M.ItemGroupRef(ItemGroupOID=group_oid(form.name), Mandatory="Yes")],
            )
        )
        refs = []
        for n, f in enumerate(form.fields, start=1):
            oid = item_oid(form.name, f.name)
            refs.append(
                M.ItemRef(ItemOID=oid, OrderNumber=n, Mandatory="Yes" if f.required else "No")
            )
            dtype = "integer" if f.type == "choice" and _integer_choices(f) else _ODM_TYPES[f.type]
            aliases = [M.Alias(Context="cordtrial", Name=f.store_key)]
            if f.store_key in crf.RHI_KEYS:
                aliases.append(M.Alias(Context="RHI", Name=f.store_key))
            if f.cde:
                aliases.append(M.Alias(Context=cde.CONTEXT, Name=f"{f.cde[0]} {f.cde[1]}"))
            kw = {}
            if f.choices:
                cl_oid = f"CL.{form.name.upper()}.{f.name.upper()}"
                codelists.append(
                    M.CodeList(OID=cl_oid, Name=f.label[:200], DataType=dtype if f.type == "choice" else "text", CodeListItem=[
                        M.CodeListItem(CodedValue=c, Decode=M.Decode(TranslatedText=[M.TranslatedText(_content=d, lang="en")])) for c, d in f.choices
                    ])
                )  # fmt: skip
                kw["CodeListRef"] = M.CodeListRef(CodeListOID=cl_oid)
            comment = "; ".join(
                x
                for x in (f.note, "derived: recomputed by cordtrial on import" if f.derived else "")
                if x
            )
            if comment:
                kw["Comment"] = comment
            items.append(
                M.ItemDef(
                    OID=oid,
                    Name=f.name,
                    DataType=dtype,
                    Question=M.Question(
                        TranslatedText=[M.TranslatedText(_content=f.label, lang="en")]
                    ),
                    Alias=aliases,
                    **kw,
                )
            )
        groups.append(
            M.ItemGroupDef(OID=group_oid(form.name), Name=form.label, Repeating="No", ItemRef=refs)
        )
    protocol = M.Protocol(
        StudyEventRef=[
            M.StudyEventRef(
                StudyEventOID=event_oid(e),
                OrderNumber=n,
                Mandatory="Yes" if e == crf.ENROLMENT else "No",
            )
            for n, e in enumerate(crf.EVENTS, start=1)
        ]
    )
    return M.MetaDataVersion(
        OID=MDV,
        Name="cordtrial case report forms",
        Description="Forms and items of the cordtrial store",
        Protocol=protocol,
        StudyEventDef=events,
        FormDef=forms,
        ItemGroupDef=groups,
        ItemDef=items,
        CodeList=codelists,
    )


def clinical_data(M, trial: Trial):
    subjects: dict[str, object] = {}
    events: dict[tuple[str, str, int], object] = {}
    for rec in crf.form_records(trial):
        subj = subjects.get(rec.subject)
        if subj is None:
            subj = M.SubjectData(
                SubjectKey=rec.subject,
                SiteRef=M.SiteRef(LocationOID=location_oid(rec.site)),
                StudyEventData=[],
            )
            subjects[rec.subject] = subj
        key = (rec.subject, rec.event, rec.event_repeat)
        se = events.get(key)
        if se is None:
            kw = (
                {"StudyEventRepeatKey": str(rec.event_repeat)}
                if rec.event in crf.REPEATING_EVENTS
                else {}
            )
            se = M.StudyEventData(StudyEventOID=event_oid(rec.event), FormData=[], **kw)
            events[key] = se
            subj.StudyEventData.append(se)
        form = crf.FORM[rec.form]
        data = []
        for f in form.fields:
            value = crf.to_text(f, rec.values.get(f.name)) if f.name in rec.values else None
            if value is not None:
                data.append(M.ItemData(ItemOID=item_oid(form.name, f.name), Value=value))
        kw = {"FormRepeatKey": str(rec.form_repeat)} if form.repeating else {}
        se.FormData.append(
            M.FormData(
                FormOID=form_oid(form.name),
                ItemGroupData=[M.ItemGroupData(ItemGroupOID=group_oid(form.name), ItemData=data)],
                **kw,
            )
        )
    return M.ClinicalData(
        StudyOID=trial.study_id, MetaDataVersionOID=MDV, SubjectData=list(subjects.values())
    )


def odm_xml(trial: Trial) -> str:
    import odmlib.odm_1_3_2.model as M

    created = trial.exported_at.strftime("%Y-%m-%dT%H:%M:%S")
    gv = M.GlobalVariables(
        StudyName=M.StudyName(_content=trial.study_id),
        StudyDescription=M.StudyDescription(_content=trial.protocol.title),
        ProtocolName=M.ProtocolName(_content=trial.protocol.id),
    )
    study = M.Study(OID=trial.study_id, GlobalVariables=gv, MetaDataVersion=[metadata(M)])
    admin = M.AdminData(
        StudyOID=trial.study_id,
        Location=[
            M.Location(
                OID=location_oid(s["code"]),
                Name=s["name"],
                LocationType="Site",
                MetaDataVersionRef=[
                    M.MetaDataVersionRef(
                        StudyOID=trial.study_id, MetaDataVersionOID=MDV, EffectiveDate=created[:10]
                    )
                ],
            )
            for s in trial.sites
        ],
    )
    odm = M.ODM(
        FileOID=f"cordtrial.{trial.study_id}.odm", FileType="Snapshot", Granularity="All", CreationDateTime=created,
        ODMVersion="1.3.2", Originator="cordtrial", SourceSystem="cordtrial", SourceSystemVersion=__version__,
        Study=[study], AdminData=[admin], ClinicalData=[clinical_data(M, trial)],
    )  # fmt: skip
    with odm_namespaces(define=False):
        return odm.to_xml_string(xml_declaration=True)


def write_odm(trial: Trial, out: Path) -> Path:
    path = out / "odm.xml"
    path.write_text(odm_xml(trial), encoding="utf-8")
    return path
