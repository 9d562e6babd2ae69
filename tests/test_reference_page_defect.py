"""The reference page cites [5]-[8] but lists four references: `pipeline check` must name each
citation that matches no entry in the library."""

from __future__ import annotations

from pathlib import Path

from tests.conftest import run_cli, write

BIB = """
@misc{guideline-overview,
  title = {Guideline Directed Topic Overview}, year = {2025}, organization = {Example Board},
}
@misc{insm1-summary,
  title = {Treatment Approach for Neuroendocrine Tumors Associated with the INSM1 Gene},
  year = {2025}, publisher = {Example Summaries},
}
@article{imaging-update-2015,
  author = {Maxwell, Jessica E. and Howe, James R.},
  title = {Imaging in neuroendocrine tumors: an update for the clinician},
  journal = {International Journal of Endocrine Oncology}, year = {2015},
}
@misc{stage4-lcnec,
  title = {Management of Stage 4 Large Cell Neuroendocrine Cancer}, year = {2025},
  publisher = {Example Summaries},
}
"""

# The page's citations 1-8, in its own order; only the first four have a listed source.
ARTICLE = """---
question: What is the treatment approach for skin lesions associated with neuroendocrine tumors?
title: Treatment approach for skin lesions associated with neuroendocrine tumors
authors: [jdoe]
status: submitted
last_updated: 2025-10-26
---
Follow the neuroendocrine tumor guidelines [@guideline-overview].

## Diagnostic evaluation
- Primary skin tumor or metastasis [@insm1-summary; @imaging-update-2015].
- Neuroendocrine markers on immunohistochemistry [@stage4-lcnec; @ref-5].
- Ki-67 proliferation index [@ref-5].
- Multiphase CT or MRI [@guideline-overview; @ref-6].

## Systemic therapy options
- Platinum and etoposide for poorly differentiated tumors [@guideline-overview; @ref-7].
- Everolimus in selected cases [@ref-7].
- Look for other metastatic sites [@guideline-overview; @ref-8].
"""


def test_citations_without_a_listed_source_are_each_reported(publication: Path) -> None:
    write(publication, "references/page.bib", BIB)
    rel = "content/oncology/skin-lesions-as-published.md"
    write(publication, rel, ARTICLE)
    run = run_cli(publication, "check", "--format", "json")
    assert run.exit_code == 1
    unknown = [e for e in run.json()["errors"] if e["code"] == "citation.unknown-key"]
    reported = {(e["file"], e["line"], e["message"].split("]")[0].split("@")[1]) for e in unknown}
    assert reported == {
        (rel, 12, "ref-5"),
        (rel, 13, "ref-5"),
        (rel, 14, "ref-6"),
        (rel, 17, "ref-7"),
        (rel, 18, "ref-7"),
        (rel, 19, "ref-8"),
    }
