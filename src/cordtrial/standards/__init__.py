"""The trial in the standards sponsors, regulators and other tools read.

- SDTM (CDISC): datasets as Dataset-JSON 1.1 and SAS XPT v5, described by Define-XML 2.1
- ODM 1.3.2 (CDISC): clinical data with their metadata, importable into an empty store
- REDCap: data dictionary, events, instrument-event mapping and the flat record export
- SAS (XPT v8 + format program), SPSS (.sav) and Stata (.dta) with variable and value labels

Mappings are pure functions of :class:`~cordtrial.standards.trial.Trial` (read once from the
store); writers turn their tables into files. ``export.write_export`` is the one entry point
for the CLI and the web page. Mapping documentation: docs/exports.md.
"""
