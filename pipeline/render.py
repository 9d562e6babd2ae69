"""Rendering: the checked model -> Markdown/HTML pages for MkDocs, through Jinja templates.

Python decides (what is shown, citation numbers, status, links); templates only present. What
an article page shows comes from `approval.publishing` and `approval.article_state`; links come
from MkDocs' URL logic (`links.Links`). An article page is re-rendered only when an input it
recorded while it was rendered has changed (`outputs.Dependencies`); site-wide pages are
registered outputs (`outputs.output`), rendered every build and written when they change."""

from __future__ import annotations

import datetime as dt
import functools
import html as htmllib
import json
import multiprocessing
import os
import re
import sys
from collections.abc import Callable, Iterator
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

from jinja2 import Environment, FileSystemLoader, StrictUndefined

from pipeline import outputs, paths, safety
from pipeline.approval import (
    ApprovedVersion,
    ArticleState,
    approved_versions,
    article_state,
    has_history,
    publishing,
)
from pipeline.citations import AUDIENCE, slugify
from pipeline.diagnostics import Diagnostic
from pipeline.gitio import GitError
from pipeline.history import FileCommit, commits_by_file
from pipeline.links import Links
from pipeline.loader import Article, Body, Project
from pipeline.model import STATUSES
from pipeline.outputs import Dependencies, DuplicatePage, Writer, digest, output, page_digest
from pipeline.references import ReferenceFormatter
from pipeline.templatecache import TemplateCache

__all__ = ["DuplicatePage", "RenderResult", "SiteRenderer", "render_site"]

PACKAGE = Path(str(resources.files("pipeline")))
TEMPLATES = PACKAGE / "templates"
BANNER = "Educational purpose only - exercise caution: this content is pending human review"
STEP_LABELS = {"submitted": "Submitted", "under_review": "Under Review", "approved": "Approved"}


# schema.org MedicalAudienceType for the audiences it names; others keep their label.
AUDIENCE_TYPES = {"clinician": "Clinician", "patient": "Patient", "student": "MedicalResearcher"}
SUMMARY_LENGTH = 160  # characters of a meta description that search engines show


def summary_of(html: str) -> str:
    """The first paragraph of a body, as plain text of at most SUMMARY_LENGTH characters."""
    match = re.search(r"<p>(.*?)</p>", html, re.S)
    if not match:
        return ""
    without_citations = re.sub(r'<sup class="gp-cite">.*?</sup>', "", match.group(1), flags=re.S)
    text = " ".join(htmllib.unescape(re.sub(r"<[^>]+>", "", without_citations)).split())
    text = re.sub(r"\s+([.,;:])", r"\1", text)
    if len(text) <= SUMMARY_LENGTH:
        return text
    return text[: SUMMARY_LENGTH - 1].rsplit(" ", 1)[0].rstrip(",;:") + "\u2026"


def ama_name(member: object, member_id: str) -> str:
    """'Jordan Doe' -> 'Doe J', as medical journals cite authors."""
    name = getattr(member, "name", None) or member_id
    words = name.replace(",", " ").split()
    if len(words) < 2:
        return name
    return words[-1] + " " + "".join(w[0] for w in words[:-1] if w[0].isalpha())


@functools.cache  # a listing shows the same few hundred days thousands of times
def format_date(day: dt.date) -> str:
    return f"{day:%B} {day.day}, {day.year}"


def topic_label(topic: str) -> str:
    return topic.replace("-", " ").capitalize()


@functools.cache
def code_digest() -> str:
    """Every module and template of the pipeline: a change to any of them re-renders."""
    files = [(p.relative_to(PACKAGE).as_posix(), p) for p in sorted(PACKAGE.rglob("*.py"))]
    files += [(f"templates/{p.name}", p) for p in sorted(TEMPLATES.glob("*"))]
    return digest(b"".join(name.encode() + p.read_bytes() for name, p in files))


@dataclass(frozen=True)
class ReferenceView:
    number: int
    anchor: str
    label: str
    html: str


@dataclass(frozen=True)
class VariantView:
    audience: str
    label: str
    title: str
    question: str
    html: str
    toc: list[tuple[str, str, int]]
    references: list[ReferenceView]
    disclaimer_title: str
    disclaimer_text: str
    is_default: bool


@dataclass(frozen=True)
class Step:
    label: str
    state: str  # "completed", "current" or "not yet": said in text, not only in colour
    current: bool  # the step the article is at (an approved article is at "Approved")


@dataclass(frozen=True)
class Shown:
    """One article as a build shows it."""

    article: Article  # the text on the page: the working text, or an older approved revision
    state: ArticleState  # the public state of exactly that text
    newer_under_review: bool  # production shows an older revision while a newer one is reviewed


@dataclass
class RenderResult:
    written: list[str] = field(default_factory=list)
    unchanged: int = 0
    skipped_renders: int = 0
    removed: list[str] = field(default_factory=list)
    held_back: list[tuple[str, str]] = field(default_factory=list)
    nav: list = field(default_factory=list)
    published: list[str] = field(default_factory=list)
    last_approved: list[str] = field(default_factory=list)  # shown at an earlier revision
    formatted_references: int = 0  # pybtex formatting runs: once per cited entry per build
    pages: list[str] = field(default_factory=list)  # every file of the generated folder
    digests: dict[str, str] = field(default_factory=dict)  # its file -> the digest of its text
    why: dict[str, list[str]] = field(default_factory=dict)  # page -> inputs that changed


@functools.cache
def environment(folder: str) -> Environment:
    """The environment of the templates in `folder`, one per process: a live preview's
    rebuilds reuse its compiled templates (it reloads any template whose file changed)."""
    env = Environment(
        loader=FileSystemLoader(folder),
        undefined=StrictUndefined,
        autoescape=False,
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["e"] = safety.escape_html
    env.filters["meta_text"] = meta_text
    return env


class SiteRenderer:
    def __init__(
        self,
        project: Project,
        preview: bool,
        problems: dict[str, list[Diagnostic]],
        links: Links | None = None,
        language: str = "en",
    ) -> None:
        assert project.settings is not None and project.board is not None
        self.project = project
        self.settings = project.settings
        self.board = project.board
        self.preview = preview
        self.links = links or Links(site_url=self.settings.site_url)
        self.language = language
        self.formatter = ReferenceFormatter()
        self.revision_formatters: dict[str | None, ReferenceFormatter] = {}
        self.env = environment(str(TEMPLATES))
        self.settings_digest = digest(
            [self.settings.model_dump(mode="json"), self.board.model_dump(mode="json")]
        )
        self.deps = Dependencies(self._digest_of)
        self.shown: dict[str, Shown] = {}
        self._listed: dict[str, dict] = {}  # article id -> what listings show of it (`entry`)
        # Input digests by what they were worked out from: the last build's, and this one's.
        self.known: dict[str, list[str]] = {}
        self.learned: dict[str, list[str]] = {}
        self.held_back: list[tuple[str, str]] = []
        # Errors never reach production (they stop the build); a live preview shows them.
        self.problems = problems if preview else {}
        self.unreadable: dict[str, list[Diagnostic]] = {}  # preview: no page can be made
        for article in sorted(project.articles.values(), key=lambda a: a.id):
            if article.id in problems and not preview:
                self.held_back.append((article.id, "left out: it has errors"))
                continue
            if article.meta is None and article.id in self.problems:
                self.unreadable[article.id] = self.problems[article.id]
                continue
            version = publishing(project, article, preview)
            state = version.state(project)
            if version.article is None or state is None:
                self.held_back.append((article.id, version.reason))
                continue
            self.shown[article.id] = Shown(version.article, state, version.under_review)

    # --- what each page is made from ----------------------------------------------------------

    def _digest_of(self, key: str) -> str:
        """The one place that knows what each recorded input is (see `outputs.Dependencies`)."""
        kind, _, name = key.partition(":")
        if kind == "code":
            return code_digest()
        if kind == "settings":
            return self.settings_digest
        if kind == "site":
            return digest([self.links.digest_input, self.preview, self.language])
        if kind == "article":
            shown = self.shown.get(name)
            return digest(self._article_input(shown) if shown else None)
        if kind == "listed":  # what a link to an article shows
            shown = self.shown.get(name)
            return digest(self._titles(shown.article) if shown else None)
        if kind == "reference":
            return self._reference_digest(key, name)
        if kind == "problems":
            return digest([d.as_json() for d in self.problems.get(name, [])])
        raise ValueError(f"unknown input {key!r}")

    def _reference_digest(self, key: str, name: str) -> str:
        """What readers see of a reference, by digest. Worked out from its file's parse key
        (bytes, path, the settings its parse reads, the code) and its key, it is taken from
        the last build when those are the same: what it shows is a function of them alone."""
        reference = self.project.library.get(name)
        if reference is None:
            return digest(None)
        parsed = self.project.source_keys.get(reference.file)
        basis = f"{parsed.hex()}:{reference.key}" if parsed else None
        known = self.known.get(key)
        if basis is not None and known is not None and known[0] == basis:
            found = known[1]
        else:
            found = digest(reference.shown())
        if basis is not None:
            self.learned[key] = [basis, found]
        return found

    def _article_input(self, shown: Shown) -> object:
        article, state = shown.article, shown.state
        assert article.meta is not None
        return {
            "revision": article.revision,
            "source": self._article_source(article),
            "state": [
                state.step,
                state.approved,
                state.approvers,
                str(state.approved_on),
                str(state.due),
                state.approval.fingerprint,
            ],
            "newer_under_review": shown.newer_under_review,
        }

    def _article_source(self, article: Article) -> object:
        """What an article's front matter and wordings were parsed from: the parse keys of its
        files (bytes, path, audience, evidence sections and the code), or, for an article from
        Git history or a load without keys, the parsed front matter and wordings themselves."""
        files = [article.file, *(b.file for b in article.bodies.values())]
        keys = [self.project.source_keys.get(file) for file in files]
        if article.revision is None and all(keys):
            return [[file, key.hex()] for file, key in zip(files, keys, strict=True)]  # type: ignore[union-attr]
        assert article.meta is not None
        return {
            "meta": article.meta.model_dump(mode="json"),
            "bodies": [(b.audience, b.title, b.text) for b in article.bodies.values()],
        }

    # --- article pages ------------------------------------------------------------------------

    def _titles(self, article: Article) -> dict[str, str]:
        """An article's title by audience (a variant may give its own)."""
        assert article.meta is not None
        return {b.audience: b.title or article.meta.title for b in article.bodies.values()}

    def _variant(self, article: Article, body: Body) -> VariantView:
        audience = self.settings.audience(body.audience)
        assert audience is not None and article.meta is not None
        library = self.library(article)
        html = body.facts.html.replace(AUDIENCE, body.audience)
        toc = [
            (hid.replace(AUDIENCE, body.audience), text, lvl) for hid, text, lvl in body.facts.toc
        ]
        references = []
        for key, number in body.facts.numbers.items():
            reference = library.get(key)
            if reference is None:
                continue
            if article.library is None:
                self.deps.use(f"reference:{key}")
            references.append(
                ReferenceView(
                    number=number,
                    anchor=f"ref-{body.audience}-{number}",
                    label=reference.type_label,
                    html=self.formatter_for(article).html(reference),
                )
            )
        disclaimer_id = article.meta.disclaimer or audience.disclaimer
        disclaimer = self.settings.disclaimers[disclaimer_id]
        return VariantView(
            audience=audience.id,
            label=audience.label,
            title=body.title or article.meta.title,
            question=body.question or article.meta.question,
            html=html,
            toc=toc,
            references=references,
            disclaimer_title=disclaimer.title,
            disclaimer_text=disclaimer.text,
            is_default=audience.default,
        )

    def _person(self, member_id: str) -> dict[str, str]:
        """A board member as a schema.org Person: credentials in their own property."""
        member = self.board.member(member_id)
        person = {"@type": "Person", "name": member.name if member else member_id}
        if member and member.credentials:
            person["honorificSuffix"] = member.credentials
        url = self.links.absolute("board.md")
        if url:
            person["url"] = f"{url}#{member_id}"
        return person

    def _json_ld(self, shown: Shown, variants: list[VariantView], summary: str) -> str:
        article, state = shown.article, shown.state
        meta = article.meta
        assert meta is not None
        cited = []
        for key in dict.fromkeys(k for v in article.bodies.values() for k in v.facts.numbers):
            reference = self.library(article).get(key)
            if reference is None:
                continue
            item = {"@type": "CreativeWork", "name": reference.plain("title")}
            url = safety.doi_url(reference.entry.fields.get("doi", ""))
            if url:
                item["url"] = url
            cited.append(item)
        publisher = {"@type": "Organization", "name": self.settings.name}
        if self.links.site_url:
            publisher["url"] = self.links.site_url
        data: dict[str, object] = {
            "@context": "https://schema.org",
            "@type": "MedicalWebPage",
            "name": meta.title,
            "headline": meta.question,
            "description": summary,
            "inLanguage": self.language,
            "dateModified": meta.last_updated.isoformat(),
            "keywords": meta.tags,
            "author": [self._person(a) for a in meta.authors],
            "publisher": publisher,
            "medicalAudience": [
                {
                    "@type": "MedicalAudience",
                    "audienceType": AUDIENCE_TYPES.get(v.audience, v.label),
                }
                for v in variants
            ],
            "citation": cited,
        }
        url = self.links.absolute(f"{article.id}.md")
        if url:
            data["url"] = url
        versions = self.versions(article)
        if versions:
            data["datePublished"] = versions[0].day.isoformat()
        if state.approved_on:
            data["lastReviewed"] = state.approved_on.isoformat()
            data["reviewedBy"] = [self._person(r) for r in state.approvers]
        text = json.dumps(data, ensure_ascii=False, indent=None, separators=(",", ":"))
        return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")

    # --- provenance ---------------------------------------------------------------------------

    def versions(self, article: Article) -> list[ApprovedVersion]:
        key = f"versions:{article.id}@{article.revision or ''}"
        if key not in self.project.memo:
            self.project.memo[key] = approved_versions(self.project, article)
        return self.project.memo[key]

    def _commits(self) -> dict[str, list[FileCommit]]:
        if "commits_by_file" not in self.project.memo:
            commits: dict[str, list[FileCommit]] = {}
            if has_history(self.project):
                try:
                    commits = commits_by_file(self.project.root)
                except GitError:
                    commits = {}
            self.project.memo["commits_by_file"] = commits
        return self.project.memo["commits_by_file"]

    def history(self, article: Article) -> list[dict[str, object]]:
        """Each approved version, newest first: date, approvers and what changed, in the words
        of the board editor's last commit to it (its subject), else the reviewers' notes."""
        editors = {m.git_email.lower() for m in self.board.members if m.role == "editor"}
        commits = self._commits().get(article.file, [])
        rows = []
        for version in reversed(self.versions(article)):
            edits = [
                c
                for c in commits
                if c.day <= version.first_day.isoformat() and c.author_email in editors
            ]
            change = (edits[0].subject if edits else "; ".join(version.notes)).rstrip(".")
            rows.append(
                {
                    "date": format_date(version.day),
                    "iso": version.day.isoformat(),
                    "approvers": [self.member_name(r) for r in version.approvers],
                    "change": change or "Approved by the Medical Advisory Board",
                }
            )
        return rows

    def summary(self, article: Article) -> str:
        """What search results and feeds show: the first paragraph of the default wording."""
        assert article.meta is not None
        default = self.settings.default_audience.id
        body = article.bodies.get(default) or next(iter(article.bodies.values()))
        return summary_of(body.facts.html) or article.meta.title

    def authors(self, article: Article, from_md: str) -> list[tuple[str, str]]:
        assert article.meta is not None
        board = self.links.href(from_md, "board.md")
        return [(self.member_name(a), f"{board}#{a}") for a in article.meta.authors]

    def citation(self, shown: Shown) -> str:
        """A suggested citation in the publication's own style (AMA-like)."""
        article, state = shown.article, shown.state
        meta = article.meta
        assert meta is not None
        names = ", ".join(ama_name(self.board.member(a), a) for a in meta.authors)
        parts = [f"{names}. {meta.title}. {self.settings.name}."]
        parts.append(f"Updated {format_date(meta.last_updated)}.")
        if state.approved_on:
            parts.append(f"Reviewed {format_date(state.approved_on)}.")
        url = self.links.absolute(f"{article.id}.md")
        if url:
            parts.append(url)
        return " ".join(parts)

    def formatter_for(self, article: Article) -> ReferenceFormatter:
        """A revision from history formats its own entries, never the current ones' cache."""
        if article.library is None:
            return self.formatter
        if article.revision not in self.revision_formatters:
            self.revision_formatters[article.revision] = ReferenceFormatter()
        return self.revision_formatters[article.revision]

    def library(self, article: Article):  # noqa: ANN201 - a Library
        """The references as the shown revision cites them."""
        return article.library or self.project.library

    def member_name(self, member_id: str) -> str:
        member = self.board.member(member_id)
        if member is None:
            return member_id
        return f"{member.name}, {member.credentials}" if member.credentials else member.name

    def steps(self, state: ArticleState) -> list[Step]:
        current = STATUSES.index(state.step)
        return [
            Step(
                STEP_LABELS[status],
                "completed"
                if i < current or (i == current and state.approved)
                else "current"
                if i == current
                else "not yet",
                i == current,
            )
            for i, status in enumerate(STATUSES)
        ]

    def article_page(self, shown: Shown) -> str:
        article, state = shown.article, shown.state
        meta = article.meta
        assert meta is not None
        for key in ("code", "settings", "site", f"article:{article.id}", f"problems:{article.id}"):
            self.deps.use(key)
        rel_md = f"{article.id}.md"
        variants = [
            self._variant(article, article.bodies[a.id])
            for a in self.settings.audiences
            if a.id in article.bodies
        ]
        missing = [a for a in self.settings.audiences if a.id not in article.bodies]
        related = []
        for other in meta.related:
            if other == article.id:
                continue
            self.deps.use(f"listed:{other}")
            if other in self.shown:
                title = self._titles(self.shown[other].article)[self.settings.default_audience.id]
                related.append((title, self.links.href(rel_md, f"{other}.md")))
        board = self.links.href(rel_md, "board.md")
        summary = self.summary(article)
        return self.env.get_template("article.md.j2").render(
            article=article,
            meta=meta,
            variants=variants,
            missing=missing,
            default_audience=self.settings.default_audience,
            audiences=self.settings.audiences,
            steps=self.steps(state),
            banner=None if state.approved else BANNER,
            revision_under_review=shown.newer_under_review,
            last_updated=format_date(meta.last_updated),
            approvers=[(self.member_name(r), f"{board}#{r}") for r in state.approvers],
            approved_on=state.approved_on and format_date(state.approved_on),
            due=state.due and format_date(state.due),
            approved_on_iso=state.approved_on.isoformat() if state.approved_on else "",
            due_iso=state.due.isoformat() if state.due else "",
            board_url=board,
            policy_url=self.links.href(rel_md, "editorial-policy.md"),
            topic_url=self.links.href(rel_md, f"{article.topic}/index.md"),
            topic_label=topic_label(article.topic),
            tags_url=self.links.href(rel_md, "tags.md"),
            tags=[(t, slugify(t)) for t in meta.tags],
            related=related,
            intake_url=self.settings.question_intake_url,
            json_ld=self._json_ld(shown, variants, summary),
            # One question for everyone, unless a wording asks it in its own words.
            worded_questions=len({v.question for v in variants}) > 1,
            summary=summary,
            problems=self.problems.get(article.id, []),
            authors=self.authors(article, rel_md),
            history=self.history(article),
            citation=self.citation(shown),
            bibtex_url=self.links.href(rel_md, f"{article.id}.bib"),
            ris_url=self.links.href(rel_md, f"{article.id}.ris"),
        )

    # --- what site-wide pages list ------------------------------------------------------------

    def topics(self) -> dict[str, list[Shown]]:
        topics: dict[str, list[Shown]] = {}
        for shown in self.shown.values():
            topics.setdefault(shown.article.id.split("/")[0], []).append(shown)
        return dict(sorted(topics.items()))

    def entry(self, shown: Shown, from_md: str) -> dict:
        """An article as a listing shows it, linked from the page `from_md`."""
        article_id = shown.article.id
        if article_id not in self._listed:
            meta = shown.article.meta
            assert meta is not None
            state = shown.state
            self._listed[article_id] = {
                "title": meta.title,
                "question": meta.question,
                "worded": self.wordings(shown.article),
                "status": STEP_LABELS[state.step],
                "approved": state.approved,
                "approved_on": state.approved_on and format_date(state.approved_on),
                "last_updated": format_date(meta.last_updated),
            }
        return {**self._listed[article_id], "url": self.links.href(from_md, f"{article_id}.md")}

    def wordings(self, article: Article) -> list[dict[str, object]]:
        """An article's title and question in each audience's wording, for listings that
        follow the reader's choice; empty when every audience reads the same words."""
        assert article.meta is not None
        default = self.settings.default_audience.id
        rows = [
            {
                "audience": a.id,
                "title": article.bodies[a.id].title or article.meta.title,
                "question": article.bodies[a.id].question or article.meta.question,
                "default": a.id == default,
            }
            for a in self.settings.audiences
            if a.id in article.bodies
        ]
        distinct = {(r["title"], r["question"]) for r in rows}
        return rows if len(distinct) > 1 else []

    def recently_approved(self, count: int = 10) -> list[Shown]:
        """The shown texts whose approval holds, newest approval first."""
        approved = [s for s in self.shown.values() if s.state.approved]
        approved.sort(key=lambda s: (s.state.approved_on, s.article.id), reverse=True)
        return approved[:count]

    def nav(self) -> list:
        nav: list = [{"Home": "index.md"}]
        topics = self.topics()
        if topics:
            nav.append({"Topics": [{topic_label(t): f"{t}/index.md"} for t in topics]})
        nav += [
            {"Tags": "tags.md"},
            {"Editorial policy": "editorial-policy.md"},
            {"Medical Advisory Board": "board.md"},
        ]
        if self.preview:
            nav.append({"Review dashboard": "review-dashboard.md"})
        return nav

    def render(self, template: str, **context: object) -> str:
        return self.env.get_template(template).render(**context)

    def site_outputs(self) -> Iterator[tuple[str, str] | outputs.Made]:
        """Every file the registered outputs make besides the article pages: (path, text), or
        a `Made` that a build keeps when its inputs are unchanged."""
        for suffix, make in outputs.ARTICLE_OUTPUTS:
            for article_id, shown in self.shown.items():
                keys = (f"article:{article_id}", *outputs.ARTICLE_OUTPUT_INPUTS)
                inputs = {key: self.deps.digest_of(key) for key in keys}
                rel = f"{article_id}.{suffix}"
                yield outputs.Made(rel, inputs, functools.partial(make, self, shown))
        for produce in outputs.OUTPUTS:
            yield from produce(self)

    def site_files(self) -> Iterator[tuple[str, str]]:
        """`site_outputs` as (path, text), all made now."""
        for item in self.site_outputs():
            yield (item.rel, item.make()) if isinstance(item, outputs.Made) else item

    def made(self, rel: str, template: str, **context: object) -> outputs.Made:
        """A page made from one template and its context (plain data) alone: the previous
        build's file is kept when the code, the templates and the context are as they were."""
        inputs = {"code": self.deps.digest_of("code"), "context": digest([template, context])}
        return outputs.Made(rel, inputs, functools.partial(self.render, template, **context))


# --- site-wide pages: each a registered output ------------------------------------------------


@output
def home_page(site: SiteRenderer) -> Iterator[tuple[str, str]]:
    here = "index.md"
    yield (
        here,
        site.render(
            "home.md.j2",
            settings=site.settings,
            recent=[site.entry(s, here) for s in site.recently_approved()],
            topics=[
                (topic_label(t), site.links.href(here, f"{t}/index.md"), len(items))
                for t, items in site.topics().items()
            ],
            preview=site.preview,
            board_url=site.links.href(here, "board.md"),
            policy_url=site.links.href(here, "editorial-policy.md"),
            dashboard_url=site.links.href(here, "review-dashboard.md"),
        ),
    )


@output
def topic_pages(site: SiteRenderer) -> Iterator[tuple[str, str]]:
    for topic, items in site.topics().items():
        here = f"{topic}/index.md"
        yield site.made(
            here,
            "topic.md.j2",
            label=topic_label(topic),
            articles=[site.entry(s, here) for s in items],
        )


@output
def tags_page(site: SiteRenderer) -> Iterator[tuple[str, str]]:
    tags: dict[str, list[Shown]] = {}
    for shown in site.shown.values():
        assert shown.article.meta is not None
        for tag in shown.article.meta.tags:
            tags.setdefault(tag, []).append(shown)
    yield site.made(
        "tags.md",
        "tags.md.j2",
        tags=[
            [tag, slugify(tag), [site.entry(s, "tags.md") for s in items]]
            for tag, items in sorted(tags.items(), key=lambda kv: kv[0].lower())
        ],
    )


@output
def policy_page(site: SiteRenderer) -> Iterator[tuple[str, str]]:
    policy = site.project.policy
    yield (
        "editorial-policy.md",
        site.render(
            "policy.md.j2",
            policy_html=policy.html.replace(AUDIENCE, "policy") if policy else "",
            approvals_required=site.settings.review.approvals_required,
            board_url=site.links.href("editorial-policy.md", "board.md"),
        ),
    )


@output
def board_page(site: SiteRenderer) -> Iterator[tuple[str, str]]:
    yield (
        "board.md",
        site.render(
            "board.md.j2",
            reviewers=[m for m in site.board.members if m.role == "reviewer"],
            editors=[m for m in site.board.members if m.role == "editor"],
        ),
    )


@output
def unreadable_articles(site: SiteRenderer) -> Iterator[tuple[str, str]]:
    """In a live preview, an article that cannot be rendered at all keeps its address, and
    its page says what is wrong instead of answering 404."""
    for article_id, problems in site.unreadable.items():
        yield (
            f"{article_id}.md",
            site.render("problem.md.j2", article_id=article_id, problems=problems),
        )


@output
def review_dashboard(site: SiteRenderer) -> Iterator[tuple[str, str]]:
    """The preview's table of every article and its review state (never in production)."""
    if not site.preview:
        return
    here = "review-dashboard.md"
    rows = []
    for article in sorted(site.project.articles.values(), key=lambda a: a.id):
        if article.meta is None or article.id not in site.shown:
            continue
        state = article_state(site.project, article)
        status = STEP_LABELS[article.meta.status]
        if state.claims_approval_that_fails:
            status += " (approval does not hold)"
        due = state.approval.due
        rows.append(
            {
                "title": article.meta.title,
                "url": site.links.href(here, f"{article.id}.md"),
                "status": status,
                "valid": len(state.approval.valid),
                "required": state.approval.required,
                "stale": ", ".join(state.stale_reviewers) or "-",
                "due": due.isoformat() if due else "-",
                "overdue": state.overdue,
            }
        )
    yield here, site.render("dashboard.md.j2", rows=rows)


def meta_text(value: object) -> str:
    """A field for a generated page's front matter, as a YAML string. MkDocs themes insert
    `title` and `description` into the page without escaping, so the value is escaped HTML."""
    return json.dumps(safety.escape_html(value), ensure_ascii=False)


# Outputs in modules of their own register themselves when imported.
from pipeline import citefiles, feed, robots  # noqa: E402, F401

# --- article pages, on every core for large sites ---------------------------------------------

# Below this many pages to render, one process is faster than starting workers.
PARALLEL_THRESHOLD = 300
_worker_renderer: SiteRenderer | None = None  # inherited by forked workers

Written = tuple[str, bool, str, dict[str, str]]  # (page, changed?, digest, recorded inputs)


def _format_chunk(keys: list[str]) -> dict[str, str]:
    renderer = _worker_renderer
    assert renderer is not None
    return {key: renderer.formatter.html(renderer.project.library.get(key)) for key in keys}


def _write_articles(renderer: SiteRenderer, out_dir: Path, article_ids: list[str]) -> list[Written]:
    """Render and write article pages (atomically), with what each was made from."""
    done = []
    for article_id in article_ids:
        rel_md = f"{article_id}.md"
        with renderer.deps.recording() as inputs:
            page = renderer.article_page(renderer.shown[article_id])
        changed = paths.write_if_changed(out_dir / rel_md, page)
        done.append((rel_md, changed, page_digest(page.encode("utf-8")), dict(inputs)))
    return done


def _write_chunk(out_dir: Path, article_ids: list[str]) -> list[Written]:
    assert _worker_renderer is not None
    return _write_articles(_worker_renderer, out_dir, article_ids)


def _chunks(items: list, size: int) -> list[list]:
    return [items[i : i + size] for i in range(0, len(items), size)]


def _render_articles(
    renderer: SiteRenderer, out_dir: Path, article_ids: list[str]
) -> Iterator[Written]:
    """Article pages, rendered and written on every core for large sites. References are
    formatted first, each exactly once, and handed to the workers that render the pages."""
    global _worker_renderer
    workers = min(os.cpu_count() or 1, 8)
    if workers < 2 or len(article_ids) < PARALLEL_THRESHOLD or sys.platform != "linux":
        for chunk in _chunks(article_ids, 50):
            yield from _write_articles(renderer, out_dir, chunk)
        return
    library = renderer.project.library
    keys = sorted(
        {
            key
            for i in article_ids
            if renderer.shown[i].article.library is None
            for key in renderer.shown[i].article.cited_keys()
            if library.get(key)
        }
    )
    context = multiprocessing.get_context("fork")
    _worker_renderer = renderer
    try:
        with ProcessPoolExecutor(max_workers=workers, mp_context=context) as pool:
            size = max(1, len(keys) // (workers * 4) + 1)
            for formatted in pool.map(_format_chunk, _chunks(keys, size)):
                renderer.formatter.preload(formatted)
        with ProcessPoolExecutor(max_workers=workers, mp_context=context) as pool:
            size = max(1, len(article_ids) // (workers * 4) + 1)
            chunks = _chunks(article_ids, size)
            for written in pool.map(_write_chunk, [out_dir] * len(chunks), chunks):
                yield from written
    finally:
        _worker_renderer = None


_INPUT_NAMES = {
    "code": "the pipeline's code or templates changed",
    "settings": "publication.yml or board.yml changed",
    "site": "the site's address or URL scheme changed",
    "article": "the article {} changed (text or review state)",
    "listed": "the related article {} changed or was withdrawn",
    "reference": "the reference {} changed",
}


def describe(key: str) -> str:
    """Why a page is rendered again, in words: one recorded input that changed."""
    kind, _, name = key.partition(":")
    return _INPUT_NAMES.get(kind, key).format(name)


def outdated_articles(renderer: SiteRenderer, writer: Writer, result: RenderResult) -> list[str]:
    """Sphinx's `get_outdated_docs`: the article pages to render, decided before any is
    written. A page is reused when every input it recorded is unchanged and its file is the
    one the last build wrote; otherwise the changed inputs say why it is rendered."""
    outdated = []
    for article_id in renderer.shown:
        rel_md = f"{article_id}.md"
        writer.claim(rel_md)
        old = writer.reusable(rel_md)
        changed = renderer.deps.changed(old.inputs) if old and old.inputs else []
        if old is not None and old.inputs and not changed:
            writer.keep(rel_md, old)
            result.skipped_renders += 1
        else:
            result.why[rel_md] = [describe(key) for key in changed] or ["not built before"]
            outdated.append(article_id)
    return outdated


def render_site(
    project: Project,
    out_dir: Path,
    preview: bool,
    progress: Callable[[int, int], None] | None = None,
    problems: dict[str, list[Diagnostic]] | None = None,
    links: Links | None = None,
    lang: str = "en",
    only: set[str] | None = None,
) -> RenderResult:
    """Write the generated docs folder; return what was written and the navigation. With
    `only` (a shard's articles), the other article pages are listed but not rendered."""
    renderer = SiteRenderer(project, preview, problems or {}, links, lang)
    templates = TemplateCache(project.root, "templates")
    renderer.env.bytecode_cache = templates
    try:
        return _render_site(renderer, out_dir, progress, only)
    finally:
        renderer.env.bytecode_cache = None
        templates.save()


def _render_site(
    renderer: SiteRenderer,
    out_dir: Path,
    progress: Callable[[int, int], None] | None,
    only: set[str] | None,
) -> RenderResult:
    result = RenderResult(
        nav=renderer.nav(),
        published=list(renderer.shown),
        last_approved=sorted(i for i, s in renderer.shown.items() if s.newer_under_review),
        held_back=list(renderer.held_back),
    )
    writer = Writer(out_dir)
    renderer.known, renderer.learned = writer.known, writer.learned
    outdated = outdated_articles(renderer, writer, result)
    if only is not None:
        outdated = [article_id for article_id in outdated if article_id in only]
    for done, (rel_md, changed, page_hash, inputs) in enumerate(
        _render_articles(renderer, out_dir, outdated), 1
    ):
        writer.record(rel_md, changed, page_hash, inputs)
        if progress:
            progress(done, len(outdated))
    for item in renderer.site_outputs():
        if isinstance(item, outputs.Made):
            writer.write_unless_kept(item.rel, item.inputs, item.make)
        else:
            writer.write(*item)
    result.formatted_references = renderer.formatter.formatted_count
    result.removed = writer.finish()
    result.written = writer.written
    result.unchanged = writer.unchanged
    result.pages = sorted(writer.entries)
    result.digests = {rel: entry.digest for rel, entry in writer.entries.items()}
    return result
