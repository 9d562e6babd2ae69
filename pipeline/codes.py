"""Every diagnostic code, declared once: its severity, a one-line summary, what it means, how to
fix it and, where it helps, an example before and after the fix.

`diag()` refuses a code not declared here; `pipeline explain CODE` and the codes section of
docs/formats.md are made from these declarations (as `ruff rule` and Ruff's docs are)."""

from __future__ import annotations

from dataclasses import dataclass
from textwrap import dedent, fill, indent
from typing import Literal

Severity = Literal["error", "warning"]


@dataclass(frozen=True)
class Code:
    code: str
    severity: Severity
    summary: str  # one line: when it is reported
    explanation: str  # what it means and why it matters, for an editor
    fix: str  # what to do about it
    bad: str = ""  # an example with the problem (the file it is in is named in `where`)
    good: str = ""  # the same example, fixed
    where: str = ""  # which file the example is from

    @property
    def family(self) -> str:
        return self.code.split(".", 1)[0]


CODES: dict[str, Code] = {}


def declare(
    code: str,
    severity: Severity,
    summary: str,
    explanation: str,
    fix: str,
    bad: str = "",
    good: str = "",
    where: str = "",
) -> Code:
    if code in CODES:
        raise ValueError(f"diagnostic code {code} is declared twice")
    if bool(bad) != bool(good) or "\n" in summary:
        raise ValueError(f"{code}: an example needs both its halves; a summary is one line")
    declared = Code(
        code,
        severity,
        summary,
        " ".join(explanation.split()),
        " ".join(fix.split()),
        dedent(bad).strip("\n"),
        dedent(good).strip("\n"),
        where,
    )
    CODES[code] = declared
    return declared


ARTICLE = "content/<topic>/<slug>.md"

# --- articles: front matter, names, files -----------------------------------------------------

declare(
    "frontmatter.syntax",
    "error",
    "front matter is not valid YAML, or is missing",
    """An article starts with front matter: a line `---`, YAML fields, and another `---` line.
    When that block is missing or is not valid YAML, none of the article's fields can be read,
    so the article cannot be checked, reviewed or published.""",
    """Start the file with `---`, end the fields with `---`, and put a value that holds a colon
    followed by a space (or starts with a special character) in quotes.""",
    bad="""
        ---
        title: Hypertension: first steps
        ---
    """,
    good="""
        ---
        title: "Hypertension: first steps"
        ---
    """,
    where=ARTICLE,
)
declare(
    "frontmatter.schema",
    "error",
    "a field is missing, unknown, or of the wrong type/value",
    """The front matter is valid YAML but does not match the article format (docs/formats.md):
    a required field is missing, a field is misspelt or unknown, a value is of the wrong kind
    (a list where text belongs, a word that is not one of the allowed values, a date not
    written as YYYY-MM-DD), or an author is not on the board (content/board.yml). The message
    names the field, and the likely intended field or value where there is one.""",
    """Correct the field the message names: use the field names and values listed in
    docs/formats.md, write dates as YYYY-MM-DD, and name authors by their board id.""",
    bad="""
        status: aproved
        last_update: 15/03/2026
    """,
    good="""
        status: approved
        last_updated: 2026-03-15
    """,
    where=ARTICLE,
)
declare(
    "article.slug",
    "error",
    "topic or slug not of the allowed form, or escapes `content/`",
    """Articles live at content/<topic>/<slug>.md, and audience wordings at
    content/<topic>/<slug>.<audience>.md. Topic, slug and audience use only lowercase letters,
    digits and hyphens, at most 100 characters, and may not take the name of a page the site
    makes itself (index, tags, board, search, ...). The name becomes the page's address, so a
    file elsewhere, or with another name, cannot be published. An audience wording also needs
    its main article.""",
    """Rename or move the file so that its path is content/<topic>/<slug>.md, with a lowercase
    hyphenated topic and slug.""",
    bad="content/Oncology/NET_Imaging.md",
    good="content/oncology/net-imaging.md",
)
declare(
    "article.duplicate",
    "error",
    "two articles resolve to the same `<topic>/<slug>`",
    """Two files would become the same page, for example a wording for the default audience
    next to the main article (which already is that audience's wording).""",
    """Keep one of the files: put the default audience's wording in the main article
    content/<topic>/<slug>.md and delete the other file.""",
    bad="content/oncology/net-imaging.clinician.md  (clinician is the default audience)",
    good="content/oncology/net-imaging.md",
)
declare(
    "article.size",
    "error",
    "an article or audience wording is larger than 1 MB",
    """An article is a short referenced answer; a file this large is almost always a mistake
    (a pasted document or data) and would slow every check and build.""",
    "Shorten the article or split it into several articles that link to each other.",
)
declare(
    "audience.unknown",
    "error",
    "a variant file names an audience not in publication.yml",
    """A file content/<topic>/<slug>.<audience>.md is the article's wording for one audience.
    The audience must be one of the `audiences` in content/publication.yml, or the wording
    would never be shown.""",
    """Rename the file to a known audience (the message lists them and suggests the closest),
    or add the audience to `audiences` in content/publication.yml.""",
    bad="content/cardiology/hypertension-initial-therapy.patients.md",
    good="content/cardiology/hypertension-initial-therapy.patient.md",
)

# --- citations and references -----------------------------------------------------------------

declare(
    "citation.unknown-key",
    "error",
    "a cited key is in no `.bib` file",
    """A citation such as [@sprint-2015] must match the key of an entry in one of the
    references/*.bib files (ignoring case); otherwise the reader gets a citation with no
    source. The message suggests the closest key in the library.""",
    """Correct the key (keys are usually typed slightly wrong), or add the entry to a .bib file
    under references/.""",
    bad="- Aim for a systolic pressure below 130 mmHg [@sprint-2051].",
    good="- Aim for a systolic pressure below 130 mmHg [@sprint-2015].",
    where=ARTICLE,
)
declare(
    "citation.missing",
    "error",
    "a bullet in a section that requires evidence cites nothing",
    """Every bullet under a heading listed in `review.evidence_sections` of
    content/publication.yml must cite at least one source, itself or in a bullet nested under
    it, so that each recommendation can be checked against its evidence.""",
    "Add the citation that supports the bullet, as [@key] (several as [@key1; @key2]).",
    bad="""
        ## Treatment approach
        - Start with one of the four first-line classes.
    """,
    good="""
        ## Treatment approach
        - Start with one of the four first-line classes [@aha-acc-htn-2025].
    """,
    where=ARTICLE,
)
declare(
    "citation.malformed",
    "error",
    "text that looks meant as a citation is not written as one",
    """A citation is written [@key], several as [@key1; @key2], with an optional locator as
    [@key, p. 5]. Text such as [@a, @b], [see @key], (@key), see @key or an unclosed [@key is
    not read as a citation: readers would see it as typed, with no number and no reference,
    and a bullet in an evidence section counts as citing nothing. A bare @word is reported only
    when the word is the key of a reference in the library.""",
    """Rewrite it as the message suggests: keys in square brackets, separated by semicolons,
    words such as "see" outside the brackets, a page or chapter after a comma.""",
    bad="- Start with a thiazide-like diuretic (see @aha-acc-htn-2025, @esc-htn-2024).",
    good="- Start with a thiazide-like diuretic (see [@aha-acc-htn-2025; @esc-htn-2024]).",
    where=ARTICLE,
)
declare(
    "reference.syntax",
    "error",
    "a `.bib` file does not parse",
    """A reference file is BibTeX. When an entry cannot be read (an unclosed brace, a missing
    comma between fields, text that is not UTF-8), that entry is not in the library, and
    citations of it fail too.""",
    """Fix the entry at the line the message gives: balance the braces and end each field with
    a comma.""",
    bad="""
        @article{sprint-2015,
          title = {A Randomized Trial of Intensive versus Standard Blood-Pressure Control
          year  = {2015},
        }
    """,
    good="""
        @article{sprint-2015,
          title = {A Randomized Trial of Intensive versus Standard Blood-Pressure Control},
          year  = {2015},
        }
    """,
    where="references/<name>.bib",
)
declare(
    "reference.duplicate-key",
    "error",
    "a key is defined twice (case-insensitively, across files)",
    """Each reference key names one source in the whole library. Two entries with the same key
    (even in different files, or differing only in case) make every citation of it ambiguous.""",
    "Delete one of the two entries, or give one a new key and update the articles that cite it.",
)
declare(
    "reference.missing-field",
    "error",
    "a cited entry lacks title, year or a source",
    """A reference list entry tells the reader what to look up: every cited entry needs a
    title, a year and where it appeared (journal, organization, institution, publisher or
    howpublished).""",
    "Add the missing field to the entry in its .bib file.",
    bad="""
        @article{sprint-2015,
          title = {A Randomized Trial of Intensive versus Standard Blood-Pressure Control},
        }
    """,
    good="""
        @article{sprint-2015,
          title   = {A Randomized Trial of Intensive versus Standard Blood-Pressure Control},
          journal = {N Engl J Med},
          year    = {2015},
        }
    """,
    where="references/<name>.bib",
)
declare(
    "reference.unused",
    "warning",
    "an entry no article cites",
    """The entry is in the library but no article cites it. This is only a warning: it may be
    meant for an article still to be written, or be left over after an edit.""",
    "Cite it where it belongs, or delete the entry.",
)
declare(
    "reference.size",
    "error",
    "a `.bib` file is larger than 5 MB",
    """A reference file this large slows every check and build, and is usually an export of a
    whole reference manager library.""",
    "Split the library into several .bib files under references/, or remove unused entries.",
)

# --- publication-level settings used by articles ------------------------------------------------

declare(
    "disclaimer.unknown",
    "error",
    "an article or audience names a disclaimer that does not exist",
    """A `disclaimer` field (in an article's front matter, or an audience in
    content/publication.yml) must name one of the entries under `disclaimers` in
    content/publication.yml, or the page would be shown without its disclaimer.""",
    """Use a name listed under `disclaimers` (the message suggests the closest), or add the
    disclaimer there.""",
    bad="disclaimer: patients",
    good="disclaimer: patient",
)
declare(
    "link.unknown-article",
    "error",
    "`related` names an article that does not exist",
    """Each item of `related` is the <topic>/<slug> id of another article, shown as a link. An
    id that matches no article (or the article itself) would be a broken link.""",
    "Correct the id (the message suggests the closest article), or remove it from `related`.",
    bad="related: [cardiology/af-anticoagulaton]",
    good="related: [cardiology/af-anticoagulation]",
    where=ARTICLE,
)
declare(
    "date.future",
    "error",
    "a date lies in the future",
    """`last_updated`, or the date of a review record, is later than tomorrow (UTC). A date in
    the future is a typing mistake, and would make the article look fresher than it is.""",
    "Write the real date, as YYYY-MM-DD.",
    bad="last_updated: 2062-03-15",
    good="last_updated: 2026-03-15",
    where=ARTICLE,
)

# --- the review ---------------------------------------------------------------------------------

declare(
    "review.unknown-reviewer",
    "error",
    "a review names someone not in board.yml, or not a reviewer",
    """Only members of content/board.yml with `role: reviewer` can review. A review record by
    anyone else does not count; the message suggests the closest reviewer id.""",
    """Correct the reviewer id, or ask a board reviewer to review the article with
    `pipeline review`.""",
)
declare(
    "review.self-approval",
    "error",
    "an author of the article approved it",
    """An approval must come from a reviewer who did not write the article, so an author's
    approval never counts.""",
    "Ask another board reviewer to review the article with `pipeline review approve`.",
)
declare(
    "review.stale",
    "error",
    "status is approved but an approval's fingerprint is not the current one",
    """An approval is for exactly the text the reviewer saw: the article's fields, every
    audience's wording and the cited references. The article (or a reference it cites) has
    changed since, so the approval no longer covers what readers would see.""",
    """Set the status back to under_review and ask a reviewer to approve the new version
    (`pipeline review start`, then `pipeline review approve`), or undo the change.""",
    bad="status: approved   # the text changed after the approval",
    good="status: under_review",
    where=ARTICLE,
)
declare(
    "review.insufficient",
    "error",
    "status is approved with fewer valid approvals than required",
    """An article may say `status: approved` only when it has at least
    `review.approvals_required` (content/publication.yml) valid, signed approvals by board
    reviewers for its current text.""",
    """Set the status to under_review and ask reviewers to approve it with
    `pipeline review approve`, which sets the status itself once enough approvals are in.""",
    bad="status: approved   # no approval record",
    good="status: under_review",
    where=ARTICLE,
)
declare(
    "review.overdue",
    "warning",
    "approved longer ago than the review interval",
    """Approved articles are reviewed again every `review.review_interval_months`
    (content/publication.yml). This one is past that date; it stays published meanwhile.""",
    """Ask a reviewer to re-check the article against current evidence and record a fresh
    approval with `pipeline review approve`.""",
)
declare(
    "review.unsigned",
    "error",
    "a review record for the current text has no signature",
    """Only records written by `pipeline review`, signed with the reviewer's SSH key, count as
    reviews. A record typed or pasted by hand has no signature and counts for nothing.""",
    "Remove the hand-written record and let the reviewer run `pipeline review approve`.",
)
declare(
    "review.bad-signature",
    "error",
    "a review record's signature does not verify",
    """The record's signature is not an SSH signature, or does not match the record: it was
    edited after signing (a date, note or fingerprint changed) or copied from another record
    or article. It counts for nothing.""",
    "Restore the record as `pipeline review` wrote it, or have the reviewer record a new review.",
)
declare(
    "review.foreign-key",
    "error",
    "a review record is signed by a key that is not the reviewer's",
    """The signature is valid but made with a key that is not the reviewer's `signing_key` in
    content/board.yml, so it does not show that the reviewer made the decision.""",
    """Have the reviewer sign with their own key, or, when the reviewer changed keys, update
    `signing_key` in content/board.yml (a governed change that needs a settings approval).""",
)
declare(
    "review.unverified-history",
    "warning",
    "a review record on an earlier version does not verify",
    """A record on an older version of the article no longer verifies, for example after the
    reviewer's key was replaced. Records are append-only, so it stays in the file; it simply
    does not count.""",
    "Nothing needs to change; the current version needs its own valid approvals anyway.",
)

# --- file safety --------------------------------------------------------------------------------

declare(
    "content.raw-html",
    "error",
    "raw HTML, or a `javascript:`/`data:` link, in an article body or field",
    """Articles are plain Markdown: HTML or a script link in an article could change the page
    in ways no reviewer sees in the text, or run code in a reader's browser.""",
    "Write it in Markdown, and link only to web pages (https://...).",
    bad="<b>Do not</b> combine an ACE inhibitor with an ARB [@esc-htn-2024].",
    good="**Do not** combine an ACE inhibitor with an ARB [@esc-htn-2024].",
    where=ARTICLE,
)
declare(
    "content.external-resource",
    "error",
    "an image or other resource loaded from another host, in a body or a field",
    """The site loads nothing from other hosts: a remote image tells that host who reads which
    article, and can change after the article was approved.""",
    "Put the file in the repository and link it with a relative path.",
    bad="![Scan](https://images.example.com/scan.png)",
    good="![Scan](../assets/scan.png)",
    where=ARTICLE,
)
declare(
    "reference.invalid-identifier",
    "error",
    "a DOI or PMID that is not one",
    """A DOI is 10.NNNN/... and a PMID is digits. Anything else could not be a link to the
    source, and is shown as plain text instead.""",
    "Copy the identifier from the journal page or PubMed.",
    bad="doi = {https://doi.org/10.1056/NEJMoa1607427}",
    good="doi = {10.1056/NEJMoa1607427}",
)
declare(
    "content.placeholder",
    "error",
    "an article still holds the `pipeline new` template text",
    """`pipeline new` writes an article with TODO markers and instructions in every field and
    section. Text left from that template would be published as it is: an instruction in place
    of the question, and a citation picked only as an example.""",
    """Replace each TODO line with the article's own words and cite the sources that support
    them; delete any template line you do not need.""",
    bad="question: TODO What clinical question does this article answer?",
    good="question: What blood-pressure target suits adults with hypertension?",
    where=ARTICLE,
)
declare(
    "content.unknown-file",
    "error",
    "a file under `content/` or `references/` that the publication does not know",
    """Only content/publication.yml, content/board.yml, articles, audience wordings and
    references/<name>.bib are allowed there, so that nothing is published, or left out,
    without anyone noticing.""",
    "Rename the file to one of the allowed forms (an article ends in .md), or move it out.",
    bad="content/oncology/net-imaging.markdown",
    good="content/oncology/net-imaging.md",
)
declare(
    "content.special-file",
    "error",
    "a symbolic link, folder, pipe or device where a file should be, or an unreadable file",
    """The pipeline reads only regular files inside the repository; a link could point outside
    it, and a pipe or device could block the build.""",
    "Replace it with the file itself.",
)
declare(
    "content.control-character",
    "error",
    "a source file holds an invisible control character",
    """An invisible character other than a tab or line break can hide text from reviewers or
    break the page.""",
    "Delete the character on the line the message gives (retyping the line removes it).",
)

# --- plain language -------------------------------------------------------------------------

declare(
    "readability.grade",
    "warning",
    "an audience's wording reads above the audience's target grade",
    """An audience in content/publication.yml may set `readability_grade`, the Flesch-Kincaid
    grade its wording should not exceed (8 suits most patients). The grade is measured on the
    text a reader sees: headings, bullets and paragraphs, without citations, links' addresses,
    code or tables. Long sentences and long words raise it. It is a warning unless
    `readability_severity: error` is set for the audience.""",
    """Shorten the sentences the message lists (one idea per sentence) and use shorter, everyday
    words (for example "high blood pressure" for "hypertension").""",
    bad="- Antihypertensive pharmacotherapy is generally initiated with a thiazide diuretic.",
    good="- Most people start with a water pill. It helps lower blood pressure.",
    where="content/<topic>/<slug>.patient.md",
)

# --- configuration ------------------------------------------------------------------------------

declare(
    "config.syntax",
    "error",
    "publication.yml, board.yml or mkdocs.yml is missing, unreadable or not valid YAML",
    """The configuration is read before any article: content/publication.yml (the editorial
    settings), content/board.yml (the board) and mkdocs.yml (the site). When one is missing or
    not valid YAML, no article is read, so this is the only problem reported until it is
    fixed, and `pipeline review` refuses.""",
    """Fix the YAML at the line the message gives: indent consistently, and quote a value that
    holds a colon followed by a space.""",
    bad="name: Notes: clinical",
    good='name: "Notes: clinical"',
    where="content/publication.yml",
)
declare(
    "config.schema",
    "error",
    "publication.yml, board.yml or mkdocs.yml has a missing, unknown or wrong setting",
    """The configuration is valid YAML but a setting is missing, misspelt or of the wrong kind
    (docs/formats.md lists them; mkdocs.yml needs a `site_name`). No article is read until it
    is fixed, so one typo gives one diagnostic rather than a false one for every article.""",
    "Correct the setting the message names; it suggests the intended name or the allowed values.",
    bad="""
        review:
          approvals_required: one
    """,
    good="""
        review:
          approvals_required: 1
    """,
    where="content/publication.yml",
)

# --- the build ----------------------------------------------------------------------------------

declare(
    "build.template",
    "error",
    "a template of the pipeline or the theme cannot be rendered",
    """A Jinja template (the pipeline's, or an override in the theme's custom_dir) has a syntax
    error or uses a value that does not exist, so the site cannot be built; the previous site
    is left as it was.""",
    "Fix the template at the line the message gives, or undo the change.",
)
declare(
    "build.duplicate-page",
    "error",
    "two pages of one build would be written to the same path",
    """Two outputs of the build would have the same file, so one would silently replace the
    other. The build stops instead and the previous site is left as it was.""",
    "Rename one of the articles or topics the message names.",
)

# --- the pull-request gate ----------------------------------------------------------------------

declare(
    "gate.forged-review",
    "error",
    "a review record added in the pull request is not genuinely the reviewer's",
    """The gate checks each review record a pull request adds against the base branch's board:
    its signature must verify with that reviewer's key, and its fingerprint must be the text the
    article had in the commit that added the record. Anything else could be a copied or made-up
    approval.""",
    """Remove the record; the reviewer runs `pipeline review approve` on the committed text and
    commits the result.""",
)
declare(
    "gate.reviewer-edited",
    "error",
    "the approving reviewer wrote or edited the article's content",
    """A reviewer who is an author, or who changed the article's text or a reference it cites
    since its last approval, cannot approve it: the approval must come from someone else.""",
    "Ask another board reviewer to approve the article.",
)
declare(
    "gate.review-rewritten",
    "error",
    "review records were removed or altered in the pull request",
    """Review records are append-only: every record seen in the pull request's history must
    still be there, unchanged, so the history of decisions cannot be rewritten.""",
    "Restore the records as they were, and add a new record instead of changing one.",
)
declare(
    "gate.status-transition",
    "error",
    "an article says approved without enough approvals under the base branch's board",
    """The gate recounts approvals with the board and policy of the base branch, never the
    pull request's own, so a change to board.yml cannot approve an article in the same pull
    request.""",
    "Set the status to under_review until board reviewers approve the current text.",
)
declare(
    "gate.settings-unapproved",
    "error",
    "governed settings changed without signed settings approvals",
    """Changes to the board, the publication settings, mkdocs.yml, the pipeline's code, the theme or
    the workflows decide what gets published, so they need signed approvals by reviewers of
    the base branch's board.""",
    """A board reviewer runs `pipeline review approve-settings` on the committed change and
    commits the approval it writes.""",
)
declare(
    "gate.unknown-file",
    "error",
    "the pull request adds a file under `content/` or `references/` the publication does not know",
    """The gate accepts only files the pipeline reads (articles, audience wordings, the two
    settings files and .bib files), as regular files: anything else could be published, or
    hidden, without review.""",
    "Rename the file to an allowed form, commit the file itself instead of a link, or remove it.",
)


def explain_text(code: Code, width: int = 88) -> str:
    """What `pipeline explain CODE` prints."""
    parts = [
        f"{code.code} ({code.severity}): {code.summary}",
        "",
        fill(code.explanation, width),
        "",
        fill(f"How to fix: {code.fix}", width),
    ]
    if code.bad:
        where = f" ({code.where})" if code.where else ""
        parts += ["", f"Example{where}: instead of", indent(code.bad, "    ")]
        parts += ["write", indent(code.good, "    ")]
    return "\n".join(parts)
