"""The content fingerprint covers what a reader sees, and nothing else."""

from __future__ import annotations

from pathlib import Path

from pipeline.fingerprint import fingerprint
from pipeline.loader import load
from tests.conftest import replace_in

ARTICLE = "content/oncology/net-imaging.md"


def _fp(root: Path, article_id: str = "oncology/net-imaging") -> str:
    project = load(root)
    return fingerprint(project.article(article_id), project.library)


def test_line_endings_do_not_matter(publication: Path) -> None:
    before = _fp(publication)
    for rel in (ARTICLE, "content/oncology/net-imaging.patient.md", "references/oncology.bib"):
        path = publication / rel
        path.write_bytes(path.read_bytes().replace(b"\n", b"\r\n"))
    assert _fp(publication) == before


def test_front_matter_key_order_does_not_matter(publication: Path) -> None:
    before = _fp(publication)
    replace_in(publication, ARTICLE, "authors: [jdoe]\n", "")
    replace_in(publication, ARTICLE, "tags:", "authors:\n  - jdoe\ntags:")
    assert _fp(publication) == before


def test_review_metadata_is_not_content(publication: Path) -> None:
    before = _fp(publication)
    replace_in(publication, ARTICLE, "status: approved", "status: under_review")
    replace_in(publication, ARTICLE, "reviews:\n", "reviews:\n" + _EXTRA_RECORD)
    assert _fp(publication) == before


_EXTRA_RECORD = (
    "  - reviewer: bjones\n    decision: changes_requested\n    date: 2026-11-30\n"
    "    fingerprint: sha256:" + "1" * 64 + "\n"
)


def test_fields_no_reader_sees_do_not_change_it(publication: Path) -> None:
    before = _fp(publication)
    replace_in(
        publication,
        "references/oncology.bib",
        "  pages   = {159--168},",
        "  pages   = {159--168},\n  abstract = {Not shown.},\n  keywords = {pet},\n"
        "  file = {a.pdf},\n  urldate = {2026-01-01},",
    )
    assert _fp(publication) == before


def test_a_new_optional_schema_field_does_not_change_it(publication: Path) -> None:
    """The fingerprint hashes the fields a page shows by name, not the whole model dump."""
    from pipeline.fingerprint import SHOWN_FRONT_MATTER, fingerprint_payload

    project = load(publication)
    article = project.article("oncology/net-imaging")
    payload = fingerprint_payload(article, project.library)
    assert set(payload["front_matter"]) == set(SHOWN_FRONT_MATTER)
    assert payload["scheme"] == 2


def test_bib_field_order_and_spacing_do_not_matter(publication: Path) -> None:
    before = _fp(publication)
    replace_in(
        publication,
        "references/oncology.bib",
        "  volume  = {2},\n  number  = {2},",
        "  number = {2},\n     volume =   {2},",
    )
    assert _fp(publication) == before


def test_every_part_a_reader_sees_changes_it(publication: Path) -> None:
    seen = {_fp(publication)}
    edits = [
        (ARTICLE, "FDG PET adds", "FDG PET may add"),
        ("content/oncology/net-imaging.patient.md", "two kinds of scan", "two types of scan"),
        (ARTICLE, "tags: [", "tags: [staging, "),
        (ARTICLE, "title: Imaging for", "title: Imaging used for"),
        (ARTICLE, "last_updated: 2026-12-02", "last_updated: 2026-12-03"),
        ("references/oncology.bib", "pages   = {159--168}", "pages   = {159--169}"),
    ]
    for rel, old, new in edits:
        replace_in(publication, rel, old, new)
        current = _fp(publication)
        assert current not in seen, (rel, old)
        seen.add(current)


def test_uncited_reference_does_not_change_it(publication: Path) -> None:
    before = _fp(publication)
    replace_in(
        publication, "references/oncology.bib", "pages    = {203--231}", "pages    = {203--232}"
    )
    assert _fp(publication) == before


def test_the_fingerprint_is_the_hash_of_the_whole_payload_in_canonical_json(
    publication: Path,
) -> None:
    # `fingerprint` writes the payload out part by part (each reference's part once per run):
    # it must be the hash of the one canonical dump of the whole payload, for every article,
    # whatever its keys, wording or audiences.
    import hashlib
    import json

    from pipeline.fingerprint import fingerprint_payload

    replace_in(
        publication, ARTICLE, "title:", 'title: "Ünïcode \\"quoted\\" — </script>"\nx_title:'
    )
    replace_in(publication, ARTICLE, "x_title:", "# was title:")
    project = load(publication)
    assert len(project.articles) > 3
    for article in project.articles.values():
        if article.meta is None:
            continue
        whole = json.dumps(
            fingerprint_payload(article, project.library),
            sort_keys=True,
            ensure_ascii=False,
            separators=(",", ":"),
        )
        expected = "sha256:" + hashlib.sha256(whole.encode("utf-8")).hexdigest()
        assert fingerprint(article, project.library) == expected, article.id
        assert fingerprint(article, project.library) == expected  # a part made once holds


def test_a_references_shown_part_is_its_normalized_entry_without_what_no_reader_sees(
    publication: Path,
) -> None:
    # `Reference.shown` looks up only the shown fields; it must be `normalized()` (every field)
    # with the others left out, whatever the case of the names, spacing or person roles.
    from pipeline.references import SHOWN_FIELDS, SHOWN_PERSONS, parse_text

    extra = (
        "@Article{Mixed-Case,\n  AUTHOR = {Smith, Jane and van der Berg, Piet},\n"
        "  Editor = {Doe, John},\n  TITLE = {A   title\n  over lines},\n  Journal = {J X},\n"
        "  DOI = {10.1000/x},\n  Year = 2020,\n  abstract = {Not shown},\n  Pages = {1--2},\n}\n"
        "@misc{no-people,\n  title = {Guideline},\n  organization = {Example Org},\n"
        "  howpublished = {\\url{https://example.org}},\n  note = {PMID: 12345678},\n}\n"
    )
    project = load(publication)
    references = [project.library.get(key) for key in project.library.keys()]
    references += parse_text(extra, "references/extra.bib").references
    assert len(references) > 10
    for reference in references:
        assert reference is not None
        whole = reference.normalized()
        expected = {
            "type": whole["type"],
            "fields": {k: v for k, v in whole["fields"].items() if k in SHOWN_FIELDS},
            "persons": {k: v for k, v in whole["persons"].items() if k in SHOWN_PERSONS},
        }
        assert reference._shown() == expected, reference.key
    assert references[-2]._shown()["persons"] == {"author": ["Smith, Jane", "van der Berg, Piet"]}
