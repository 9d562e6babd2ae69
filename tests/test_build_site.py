"""`pipeline build` with real MkDocs: what readers see, what is held back, atomic swaps and
incremental rebuilds."""

from __future__ import annotations

import hashlib
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from bs4 import BeautifulSoup

from pipeline.build import build
from pipeline.loader import load
from tests.conftest import REPO, copy_publication, replace_in, run_cli, write

ARTICLE_PAGE = "oncology/net-imaging/index.html"


@pytest.fixture(scope="module")
def production(tmp_path_factory) -> Path:
    root = copy_publication(tmp_path_factory.mktemp("prod") / "pub")
    run = run_cli(root, "build")
    assert run.exit_code == 0, run.output + run.stderr
    return root


@pytest.fixture(scope="module")
def preview(tmp_path_factory) -> Path:
    root = copy_publication(tmp_path_factory.mktemp("preview") / "pub")
    run = run_cli(root, "build", "--preview")
    assert run.exit_code == 0, run.output + run.stderr
    return root


def soup(root: Path, rel: str) -> BeautifulSoup:
    return BeautifulSoup((root / "site" / rel).read_text(encoding="utf-8"), "html.parser")


def test_article_page_shows_everything_a_reader_needs(production: Path) -> None:
    page = soup(production, ARTICLE_PAGE)
    article = page.select_one("article.gp-article")
    assert article is not None
    question = article.select_one("h1.gp-question").get_text()
    assert (
        question
        == "Which imaging should be used to stage a well-differentiated neuroendocrine tumor?"
    )
    note = article.select_one(".gp-board-note")
    assert "Medical Advisory Board" in note.get_text()
    assert note.a["href"] == "../../board/"
    assert (production / "site/board/index.html").is_file()
    steps = [li.get_text() for li in article.select(".gp-stepper li")]
    assert steps == ["Submitted: completed", "Under Review: completed", "Approved: completed"]
    current = article.select_one('.gp-stepper [aria-current="step"]')
    assert current.get_text() == "Approved: completed"
    updated = article.select_one(".gp-updated")
    assert "Last updated: December 2, 2026" in updated.get_text(" ", strip=True)
    assert updated.select_one("a.gp-policy-link")["href"] == "../../editorial-policy/"
    selector = article.select_one(".gp-audience")
    assert "Which best describes you?" in selector.get_text()
    assert [b["data-audience-choice"] for b in selector.select("button")] == [
        "clinician",
        "student",
        "patient",
    ]
    clinician = article.select_one('[data-audience-variant="clinician"]')
    assert not clinician.has_attr("hidden")
    assert article.select_one('[data-audience-variant="patient"]').has_attr("hidden")
    assert clinician.select_one(".gp-body p").get_text().startswith("Staging combines")
    assert [h.get_text() for h in clinician.select(".gp-body h2")] == [
        "Recommendations",
        "Common pitfalls and caveats",
    ]
    # Superscript citations link to entries of the numbered reference list.
    anchors = {li["id"]: li for li in clinician.select(".gp-references li")}
    sups = clinician.select("sup.gp-cite a")
    assert sups and all(a["href"][1:] in anchors for a in sups)
    assert sups[0].get_text() == "1"
    first = anchors["ref-clinician-1"]
    assert first["value"] == "1"
    assert first.select_one(".gp-ref-type").get_text() == "Guideline"
    assert "Neuroendocrinology. 2017;105(3):212–244." in first.get_text()
    assert first.select_one('a[href="https://doi.org/10.1159/000471879"]')
    assert first.select_one('a[href="https://pubmed.ncbi.nlm.nih.gov/28355596/"]')
    assert "Professional medical disclaimer" in clinician.select_one(".gp-disclaimer").get_text()
    patient = article.select_one('[data-audience-variant="patient"]')
    assert "Important information for patients" in patient.select_one(".gp-disclaimer").get_text()
    follow = article.select_one(".gp-follow-up a")
    assert follow["href"].startswith("https://github.com/example-org/")
    assert "No variant" not in article.get_text()
    missing = article.select_one('[data-audience-missing="student"]')
    assert missing is not None and missing.has_attr("hidden")


def test_json_ld_medical_web_page(production: Path) -> None:
    page = soup(production, ARTICLE_PAGE)
    data = json.loads(page.select_one('script[type="application/ld+json"]').string)
    assert data["@type"] == "MedicalWebPage"
    approval = load(production).article("oncology/net-imaging").meta.reviews[-1]
    assert data["lastReviewed"] == approval.day.isoformat()
    reviewer = data["reviewedBy"][0]
    assert reviewer["name"] == "Example Reviewer A. Smith"
    assert reviewer["honorificSuffix"].startswith("MD")  # credentials in their own property
    assert {a["audienceType"] for a in data["medicalAudience"]} == {"Clinician", "Patient"}
    assert data["author"][0]["name"] == "Jordan Doe" and data["inLanguage"] == "en"
    assert data["publisher"]["name"] == "Clinical Guideline Notes"
    assert data["datePublished"] <= data["lastReviewed"]
    assert data["description"].startswith("Staging combines")
    assert len(data["citation"]) == 6  # five sources and the ACR contrast manual


def test_production_publishes_approved_articles_only(production: Path) -> None:
    site = production / "site"
    for held in (
        "endocrinology/hypothyroidism-levothyroxine",
        "infectious-disease/acute-cystitis",
    ):
        assert not (site / held).exists()
        index = (site / "search/search_index.json").read_text()
        assert held not in index
    assert (site / "cardiology/af-anticoagulation/index.html").is_file()
    assert (site / "oncology/net-skin-lesions/index.html").is_file()  # the headline article
    assert not (site / "review-dashboard").exists()
    assert "Educational purpose only" not in (site / ARTICLE_PAGE).read_text()


def test_preview_publishes_everything_with_banners(preview: Path) -> None:
    site = preview / "site"
    pending = soup(preview, "infectious-disease/acute-cystitis/index.html")
    banner = pending.select_one(".gp-banner")
    assert banner.get_text() == (
        "Educational purpose only - exercise caution: this content is pending human review"
    )
    assert pending.select_one('[aria-current="step"]').get_text() == "Under Review: current"
    assert soup(preview, ARTICLE_PAGE).select_one(".gp-banner") is None
    dashboard = soup(preview, "review-dashboard/index.html").get_text()
    assert "Starting and monitoring levothyroxine" in dashboard and "0 of 1" in dashboard
    assert (site / "endocrinology/hypothyroidism-levothyroxine/index.html").is_file()


def test_site_pages_and_navigation(production: Path) -> None:
    site = production / "site"
    for rel in (
        "index.html",
        "oncology/index.html",
        "tags/index.html",
        "editorial-policy/index.html",
        "board/index.html",
        "404.html",
        "search/search_index.json",
    ):
        assert (site / rel).is_file(), rel
    home = soup(production, "index.html")
    nav = home.select_one("nav.md-nav--primary").get_text(" ", strip=True)
    assert "Cardiology" in nav and "Medical Advisory Board" in nav
    # Articles are reached from topic pages, not from the navigation on every page.
    assert "Oral anticoagulation in atrial fibrillation" not in nav
    assert "Oral anticoagulation in atrial fibrillation" in home.get_text()
    board = soup(production, "board/index.html").get_text()
    assert "Example Reviewer C. Nguyen" in board


def test_search_index_holds_every_variant(production: Path) -> None:
    index = json.loads((production / "site/search/search_index.json").read_text())
    text = " ".join(
        doc["text"] for doc in index["docs"] if doc["location"].startswith("oncology/net-imaging/")
    )
    assert "Staging combines cross-sectional imaging" in text  # clinician
    assert "Doctors usually use two kinds of scan" in text  # patient


def test_no_request_to_a_third_party_host(production: Path) -> None:
    for page in (production / "site").rglob("*.html"):
        html = BeautifulSoup(page.read_text(encoding="utf-8"), "html.parser")
        for tag, attr in (("script", "src"), ("link", "href"), ("img", "src"), ("iframe", "src")):
            for element in html.find_all(tag):
                if tag == "link" and {"canonical", "alternate"} & set(element.get("rel") or []):
                    continue  # the page's own public address names it; nothing is fetched
                url = element.get(attr) or ""
                assert not re.match(r"^(https?:)?//", url), f"{page}: {tag} loads {url}"


def _tree(site: Path) -> dict[str, str]:
    return {
        p.relative_to(site).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(site.rglob("*"))
        if p.is_file()
    }


def test_failed_build_leaves_the_previous_site(publication: Path) -> None:
    assert run_cli(publication, "build").exit_code == 0
    before = _tree(publication / "site")
    replace_in(publication, "content/oncology/net-imaging.md", "FDG PET adds", "FDG PET often adds")
    run = run_cli(publication, "build")
    assert run.exit_code == 1
    assert "review.stale" in run.stderr and "site/ was not changed" in run.stderr
    assert _tree(publication / "site") == before
    assert not list(publication.glob("site.tmp-*"))


def test_mkdocs_failure_leaves_the_previous_site(publication: Path) -> None:
    assert run_cli(publication, "build").exit_code == 0
    before = _tree(publication / "site")
    replace_in(publication, "mkdocs.yml", "name: material", "name: no-such-theme")
    run = run_cli(publication, "build")
    assert run.exit_code in (1, 2) and "site/ was not changed" in run.stderr
    assert _tree(publication / "site") == before


def test_rebuild_with_nothing_changed_rewrites_no_generated_file(publication: Path) -> None:
    build(publication)
    generated = publication / "build/production"
    stamps = {p: p.stat().st_mtime_ns for p in generated.rglob("*") if p.is_file()}
    _, result = build(publication)
    assert result.written == [] and result.skipped_renders == 6
    assert {p: p.stat().st_mtime_ns for p in generated.rglob("*") if p.is_file()} == stamps


def test_one_changed_article_rerenders_only_what_depends_on_it(publication: Path) -> None:
    build(publication, preview=True)
    replace_in(
        publication,
        "content/endocrinology/hypothyroidism-levothyroxine.md",
        "Take it at the same time",
        "Take it at exactly the same time",
    )
    _, result = build(publication, preview=True)
    assert result.written == ["endocrinology/hypothyroidism-levothyroxine.md"]
    assert result.skipped_renders == 7


def test_citation_numbers_compress_ranges(publication: Path) -> None:
    replace_in(
        publication,
        "content/endocrinology/hypothyroidism-levothyroxine.md",
        "## Follow-up recommendations\n",
        "## Follow-up recommendations\n- Cited widely [@ata-hypothyroidism-2014; "
        "@chaker-hypothyroidism-2017; @ukpds34-1998; @empareg-2015; @leader-2016].\n",
    )
    _, result = build(publication, preview=True)
    page = soup(publication, "endocrinology/hypothyroidism-levothyroxine/index.html")
    sups = [s.get_text() for s in page.select('[data-audience-variant="clinician"] sup.gp-cite')]
    assert "1,2" in sups and "1–5" in sups


def _mkdocs_build(root: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "-q", "-f", str(root / "mkdocs.yml")],
        capture_output=True,
        text=True,
        env={**os.environ, "NO_MKDOCS_2_WARNING": "1"},
        check=False,
        cwd=root,
    )


def test_bare_mkdocs_build_runs_the_pipeline(tmp_path: Path) -> None:
    root = copy_publication(tmp_path / "pub")
    done = _mkdocs_build(root)
    assert done.returncode == 0, done.stderr
    assert (root / "site/oncology/net-imaging/index.html").is_file()
    assert not (root / "site/infectious-disease/acute-cystitis").exists()
    write(root, "content/oncology/net-imaging.patient.md", "Broken [@no-such-key].\n")
    done = _mkdocs_build(root)
    assert done.returncode != 0 and "citation.unknown-key" in done.stderr


def test_mkdocs_yml_uses_only_standard_settings() -> None:
    import yaml

    config = yaml.safe_load((REPO / "mkdocs.yml").read_text())
    assert config["theme"]["name"] == "material" and config["theme"]["font"] is False
    assert config["plugins"] == ["search", "guideline"]  # the pipeline's plugin, by entry point
    assert "hooks" not in config


def test_each_cited_entry_is_formatted_once_per_build(publication: Path) -> None:
    from pipeline.loader import load
    from pipeline.render import render_site

    project = load(publication)
    result = render_site(project, publication / "build/check", preview=True)
    cited = {c.key.lower() for a in project.articles.values() for c in a.citations()}
    citations = sum(1 for a in project.articles.values() for _ in a.citations())
    assert result.formatted_references == len(cited) < citations


def test_the_tags_page_is_left_out_of_the_search_index(production: Path) -> None:
    """It lists every article: a search finds the articles themselves, not the list."""
    index = json.loads((production / "site/search/search_index.json").read_text())
    locations = {doc["location"].split("#")[0] for doc in index["docs"]}
    assert "tags/" not in locations
    assert "cardiology/af-anticoagulation/" in locations
    assert (production / "site/tags/index.html").is_file()
