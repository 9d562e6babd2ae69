"""Libraries exported by Zotero with Better BibTeX: the PubMed id in `note` or in
`eprinttype`/`eprint`, and the journal's abbreviation (`shortjournal`), reach the reference
list."""

from __future__ import annotations

from pathlib import Path

from pipeline.references import ReferenceFormatter, parse_text
from tests.conftest import replace_in, run_cli

# As Better BibTeX writes them: BibTeX with the PMID in `note`, biblatex with `eprinttype`.
BETTER_BIBTEX = r"""
@article{wrightRandomizedTrialIntensive2015,
  title = {A {{Randomized Trial}} of {{Intensive}} versus {{Standard Blood-Pressure Control}}},
  author = {{SPRINT Research Group} and Wright, Jackson T. and Williamson, Jeff D.},
  year = {2015},
  month = nov,
  journal = {The New England Journal of Medicine},
  volume = {373},
  number = {22},
  pages = {2103--2116},
  issn = {1533-4406},
  doi = {10.1056/NEJMoa1511939},
  langid = {english},
  note = {PMID: 26551272\\
PMCID: PMC4689591},
  keywords = {Blood Pressure,Hypertension}
}
"""

BETTER_BIBLATEX = r"""
@article{wrightRandomizedTrialIntensive2015,
  title = {A {{Randomized Trial}} of {{Intensive}} versus {{Standard Blood-Pressure Control}}},
  author = {{SPRINT Research Group} and Wright, Jackson T. and Williamson, Jeff D.},
  date = {2015-11-26},
  journaltitle = {The New England Journal of Medicine},
  shortjournal = {N Engl J Med},
  volume = {373},
  number = {22},
  eprint = {26551272},
  eprinttype = {pmid},
  pages = {2103--2116},
  issn = {1533-4406},
  doi = {10.1056/NEJMoa1511939},
  langid = {english},
  keywords = {Blood Pressure,Hypertension}
}
"""

ZOTERO_NOTE_ONLY = r"""
@article{note-pmid,
  title = {Only a note},
  journal = {Lancet},
  year = {2020},
  note = {PMID: 31234567},
}
@article{note-text,
  title = {A note that is not an identifier},
  journal = {Lancet},
  year = {2020},
  note = {Erratum in: Lancet 2021;397:10},
}
"""


def _reference(text: str, key: str):  # noqa: ANN202 - a references.Reference
    parsed = parse_text(text, "references/zotero.bib")
    assert parsed.diagnostics == []
    return next(r for r in parsed.references if r.key == key)


def test_better_bibtex_note_gives_the_pmid() -> None:
    ref = _reference(BETTER_BIBTEX, "wrightRandomizedTrialIntensive2015")
    assert ref.entry.fields["pmid"] == "26551272"
    html = ReferenceFormatter().html(ref)
    assert 'href="https://pubmed.ncbi.nlm.nih.gov/26551272/"' in html
    assert "The New England Journal of Medicine. 2015;373(22):2103\u20132116" in html


def test_better_biblatex_eprint_and_short_journal() -> None:
    ref = _reference(BETTER_BIBLATEX, "wrightRandomizedTrialIntensive2015")
    assert ref.entry.fields["pmid"] == "26551272"
    assert ref.missing_fields() == []
    html = ReferenceFormatter().html(ref)
    # Vancouver style shows the abbreviation, not the full title.
    assert "N Engl J Med. 2015;373(22):2103\u20132116" in html
    assert "New England Journal" not in html
    assert "PMID: " in html and "pubmed.ncbi.nlm.nih.gov/26551272/" in html


def test_a_note_without_a_pmid_gives_none() -> None:
    assert _reference(ZOTERO_NOTE_ONLY, "note-pmid").entry.fields["pmid"] == "31234567"
    assert "pmid" not in _reference(ZOTERO_NOTE_ONLY, "note-text").entry.fields


def test_a_written_pmid_wins_over_the_note() -> None:
    text = BETTER_BIBTEX.replace("issn =", "pmid = {11111111},\n  issn =")
    assert _reference(text, "wrightRandomizedTrialIntensive2015").entry.fields["pmid"] == "11111111"


def test_a_zotero_export_checks_clean_in_a_publication(publication: Path) -> None:
    (publication / "references/zotero.bib").write_text(BETTER_BIBLATEX, encoding="utf-8")
    rel = "content/cardiology/hypertension-initial-therapy.patient.md"
    replace_in(publication, rel, "[@sprint-2015;", "[@wrightRandomizedTrialIntensive2015;")
    run = run_cli(publication, "check", "--format", "json")
    zotero = [d for d in run.json()["errors"] + run.json()["warnings"] if "zotero" in d["file"]]
    assert zotero == []
    codes = {d["code"] for d in run.json()["errors"]}
    assert "citation.unknown-key" not in codes and "reference.missing-field" not in codes
