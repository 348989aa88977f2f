"""Read a cordtrial ODM 1.3.2 file back into form records (the inverse of :mod:`.odm`).

The file is first validated against the ODM 1.3.2 schema (the XSD shipped with odmlib, read by
xmlschema with entity expansion and remote access refused); then every ItemData is mapped back
through the OIDs of :data:`.crf.FORMS` and typed. Problems are collected, each naming the
subject, event, form, field, value and what is allowed, and nothing is imported if any remain.
"""

from __future__ import annotations

import os
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path

from cordtrial.instruments import INSTRUMENTS

from . import crf
from .odm import event_oid, form_oid, item_oid, location_oid
from .odmns import ODM_NS

MAX_BYTES = 200 * 1024 * 1024
_N = f"{{{ODM_NS}}}"


class OdmFileError(ValueError):
    """The file is not a readable, schema-valid ODM 1.3.2 document."""


@dataclass
class OdmContent:
    sites: dict[str, str]  # code -> name
    records: list[crf.FormRecord]
    errors: list[str]


def odm_schema_path() -> str:
    import odmlib

    return os.path.join(os.path.dirname(odmlib.__file__), "schemas", "odm", "1.3.2", "ODM1-3-2.xsd")


def validate_odm(path: Path, limit: int = 20) -> list[str]:
    """Schema errors (at most ``limit``), [] when the file is valid ODM 1.3.2."""
    import xmlschema

    schema = xmlschema.XMLSchema(odm_schema_path())
    resource = xmlschema.XMLResource(str(path), defuse="always", allow="local")
    errors = []
    for err in schema.iter_errors(resource):
        errors.append(f"{err.path or '/'}: {err.reason}")
        if len(errors) >= limit:
            break
    return errors


def read_odm(path: str | Path) -> OdmContent:
    path = Path(path)
    try:
        size = path.stat().st_size
    except OSError as exc:
        raise OdmFileError(f"{path}: cannot read ({exc})") from None
    if size > MAX_BYTES:
        raise OdmFileError(f"{path}: {size} bytes; at most {MAX_BYTES} bytes are read")
    import xmlschema

    try:
        schema_errors = validate_odm(path)
    except (xmlschema.XMLSchemaException, ET.ParseError, OSError) as exc:  # bad XML, entities
        raise OdmFileError(f"{path}: not readable XML ({exc})") from None
    if schema_errors:
        raise OdmFileError(f"{path}: not valid ODM 1.3.2:\n  " + "\n  ".join(schema_errors))
    root = ET.parse(path).getroot()
    events = {event_oid(e): e for e in crf.EVENTS}
    forms = {form_oid(f.name): f for f in crf.FORMS}
    fields = {item_oid(f.name, fl.name): (f, fl) for f in crf.FORMS for fl in f.fields}
    sites = {
        loc.get("OID", "")[len(location_oid("")) :]: loc.get("Name", "")
        for loc in root.iter(f"{_N}Location")
        if loc.get("OID", "").startswith(location_oid(""))
    }
    records, errors = [], []
    for subj in root.iter(f"{_N}SubjectData"):
        code = subj.get("SubjectKey", "")
        site_ref = subj.find(f"{_N}SiteRef")
        site = (site_ref.get("LocationOID", "") if site_ref is not None else "")[
            len(location_oid("")) :
        ]
        if site not in sites:
            errors.append(
                f"subject {code}: SiteRef {site_ref.get('LocationOID') if site_ref is not None else None!r}; allowed: a Location of the file's AdminData"
            )
        for se in subj.findall(f"{_N}StudyEventData"):
            event = events.get(se.get("StudyEventOID"))
            if event is None:
                errors.append(
                    f"subject {code}: StudyEventOID {se.get('StudyEventOID')!r}; allowed: {', '.join(events)}"
                )
                continue
            for fd in se.findall(f"{_N}FormData"):
                form = forms.get(fd.get("FormOID"))
                where = f"subject {code}, event {event}"
                if form is None:
                    errors.append(
                        f"{where}: FormOID {fd.get('FormOID')!r}; allowed: {', '.join(forms)}"
                    )
                    continue
                rec = crf.FormRecord(
                    code,
                    site,
                    event,
                    form.name,
                    {},
                    _key(se.get("StudyEventRepeatKey")),
                    _key(fd.get("FormRepeatKey")),
                )
                inst = INSTRUMENTS.get(form.kind)
                for item in fd.iter(f"{_N}ItemData"):
                    found = fields.get(item.get("ItemOID"))
                    if found is None or found[0] is not form:
                        errors.append(
                            f"{where}, form {form.name}: ItemOID {item.get('ItemOID')!r} is not an item of this form"
                        )
                        continue
                    try:
                        rec.values[found[1].name] = crf.from_text(found[1], item.get("Value"), inst)
                    except crf.FieldValueError as exc:
                        errors.append(f"{where}, form {form.name}: {exc}")
                records.append(rec)
    return OdmContent(sites, records, errors)


def _key(value: str | None) -> int:
    try:
        return int(value) if value else 1
    except ValueError:
        return 1
