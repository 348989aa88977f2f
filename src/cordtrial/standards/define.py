"""Define-XML 2.1 for the SDTM datasets, built with odmlib's Define-XML 2.1 model.

Every dataset (ItemGroupDef) and variable (ItemDef) is described with its label, type,
length, origin (with the cordtrial store field it comes from), key sequence and codelist;
NINDS CDE ids ride along as ``Alias Context="NINDS CDE"``. The archive location of each
dataset is its XPT file; the Dataset-JSON files carry the same ItemDef OIDs.
"""

from __future__ import annotations

from pathlib import Path

from . import cde
from .datasetjson import item_oid
from .odmns import odm_namespaces
from .sdtm_common import SDTMIG_VERSION
from .tables import Codelist, Dataset, Variable
from .trial import Trial

_TYPES = {
    "text": "text",
    "integer": "integer",
    "float": "float",
    "date": "date",
    "datetime": "datetime",
}
_SOURCE = {"Collected": "Investigator", "Protocol": None, "Derived": None, "Assigned": None}
STD_IG, STD_CT = "STD.SDTMIG", "STD.CT"


def _desc(D, text: str):
    return D.Description(TranslatedText=[D.TranslatedText(_content=text, lang="en")])


def _codelist(D, cl: Codelist):
    aliases = {v: D.Alias(Context=ctx, Name=name) for v, ctx, name in cl.aliases}
    items = []
    for v, d in cl.items:
        kw = {"Alias": [aliases[v]]} if v in aliases else {}
        decode = D.Decode(TranslatedText=[D.TranslatedText(_content=d, lang="en")])
        items.append(D.CodeListItem(CodedValue=str(v), Decode=decode, **kw))
    kw = {"StandardOID": STD_CT} if cl.source.startswith("CDISC CT") else {}
    return D.CodeList(
        OID=cl.oid,
        Name=cl.name,
        DataType=cl.data_type if cl.data_type == "integer" else "text",
        CodeListItem=items,
        **kw,
    )


def _item_def(D, ds: Dataset, var: Variable):
    origin_kw = {"Type": var.origin}
    if _SOURCE.get(var.origin):
        origin_kw["Source"] = _SOURCE[var.origin]
    described = var.source + (f" ({var.note})" if var.note else "")
    kw = {
        "OID": item_oid(ds, var),
        "Name": var.name,
        "SASFieldName": var.name,
        "DataType": _TYPES[var.type],
        "Description": _desc(D, var.label),
        "Origin": [D.Origin(Description=_desc(D, f"cordtrial: {described}"), **origin_kw)],
    }
    if var.type in ("text", "integer"):
        kw["Length"] = ds.length(var) if var.type == "text" else 8
    if var.codelist is not None:
        kw["CodeListRef"] = D.CodeListRef(CodeListOID=var.codelist.oid)
    if var.cde is not None:
        kw["Alias"] = [D.Alias(Context=cde.CONTEXT, Name=f"{var.cde[0]} {var.cde[1]}")]
    return D.ItemDef(**kw)


def define_xml(datasets: list[Dataset], trial: Trial) -> str:
    import odmlib.define_2_1.model as D

    ig_defs, item_defs, codelists = [], [], {}
    for ds in datasets:
        refs = []
        for n, var in enumerate(ds.variables, start=1):
            ref = {
                "ItemOID": item_oid(ds, var),
                "OrderNumber": n,
                "Mandatory": "Yes" if var.core == "Req" else "No",
            }
            if var.name in ds.keys:
                ref["KeySequence"] = ds.keys.index(var.name) + 1
            refs.append(D.ItemRef(**ref))
            item_defs.append(_item_def(D, ds, var))
            if var.codelist is not None:
                codelists[var.codelist.oid] = var.codelist
        ig_defs.append(
            D.ItemGroupDef(
                OID=f"IG.{ds.name}",
                Name=ds.name,
                Repeating="No" if ds.name == "DM" else "Yes",
                IsReferenceData="Yes" if ds.cls == "TRIAL DESIGN" else "No",
                SASDatasetName=ds.name,
                Domain=ds.name[4:] if ds.name.startswith("SUPP") else ds.name,
                Purpose="Tabulation",
                Structure=ds.structure,
                ArchiveLocationID=f"LF.{ds.name}",
                StandardOID=STD_IG,
                HasNoData="Yes" if not ds.rows else None,
                Description=_desc(D, ds.label),
                ItemRef=refs,
                Class=D.Class(Name=ds.cls),
                leaf=D.leaf(
                    ID=f"LF.{ds.name}",
                    href=f"{ds.name.lower()}.xpt",
                    title=D.title(_content=f"{ds.name.lower()}.xpt"),
                ),
            )
        )
    standards = D.Standards(
        Standard=[
            D.Standard(
                OID=STD_IG, Name="SDTMIG", Type="IG", Version=SDTMIG_VERSION, Status="Final"
            ),
            D.Standard(
                OID=STD_CT,
                Name="CDISC/NCI",
                Type="CT",
                PublishingSet="SDTM",
                Version="unverified",
                Status="Final",
            ),
        ]
    )
    mdv = D.MetaDataVersion(
        OID="MDV.SDTM",
        Name=f"{trial.study_id} SDTM",
        Description="SDTM tabulation datasets exported by cordtrial",
        DefineVersion="2.1.0",
        Standards=standards,
        ItemGroupDef=ig_defs,
        ItemDef=item_defs,
        CodeList=[_codelist(D, cl) for cl in sorted(codelists.values(), key=lambda c: c.oid)],
    )
    gv = D.GlobalVariables(
        StudyName=D.StudyName(_content=trial.study_id),
        StudyDescription=D.StudyDescription(_content=trial.protocol.title),
        ProtocolName=D.ProtocolName(_content=trial.protocol.id),
    )
    odm = D.ODM(
        FileOID=f"cordtrial.{trial.study_id}.define",
        FileType="Snapshot",
        CreationDateTime=trial.exported_at.strftime("%Y-%m-%dT%H:%M:%S"),
        ODMVersion="1.3.2",
        Originator="cordtrial",
        SourceSystem="cordtrial",
        Context="Submission",
        Study=D.Study(OID=trial.study_id, GlobalVariables=gv, MetaDataVersion=mdv),
    )
    with odm_namespaces(define=True):
        return _alias_first(odm.to_xml_string(xml_declaration=True))


def _alias_first(xml: str) -> str:
    """Put each ItemDef's Alias before its def:Origin, where the ODM 1.3.2 / Define-XML 2.1
    schema wants it (odmlib 0.2.1 writes Alias last, which the XSD refuses)."""
    import xml.etree.ElementTree as ET

    from .odmns import DEF_NS, ODM_NS, XLINK_NS

    for prefix, uri in (("", ODM_NS), ("def", DEF_NS), ("xlink", XLINK_NS)):
        ET.register_namespace(prefix, uri)
    root = ET.fromstring(xml)
    for item in root.iter(f"{{{ODM_NS}}}ItemDef"):
        aliases = item.findall(f"{{{ODM_NS}}}Alias")
        origin = item.find(f"{{{DEF_NS}}}Origin")
        if aliases and origin is not None:
            for a in aliases:
                item.remove(a)
            at = list(item).index(origin)
            for k, a in enumerate(aliases):
                item.insert(at + k, a)
    return ET.tostring(root, encoding="unicode", xml_declaration=True)


def write_define(datasets: list[Dataset], trial: Trial, out: Path) -> Path:
    path = out / "define.xml"
    path.write_text(define_xml(datasets, trial), encoding="utf-8")
    return path
