"""Rendering: the checked model -> Markdown/HTML pages for MkDocs, through Jinja templates.

Python decides (what is published, citation numbers, status, links); templates only present.
Output files are rewritten only when their content changes, and an article page is re-rendered
only when something it depends on changed (its fingerprint, review state, related articles,
the settings or the templates)."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import multiprocessing
import os
import sys
from collections.abc import Callable, Iterator
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

from jinja2 import Environment, FileSystemLoader, StrictUndefined

from pipeline import paths, safety
from pipeline.approval import ApprovalState, approval_state, is_approved, publishing
from pipeline.citations import AUDIENCE, number_citations, slugify
from pipeline.loader import Article, Body, Project
from pipeline.model import STATUSES
from pipeline.references import ReferenceFormatter

TEMPLATES = Path(str(resources.files("pipeline") / "templates"))
MANIFEST = ".pipeline-manifest.json"
BANNER = "Educational purpose only - exercise caution: this content is pending human review"
STEP_LABELS = {"submitted": "Submitted", "under_review": "Under Review", "approved": "Approved"}


def page_url(rel_md: str) -> str:
    """MkDocs directory URL of a generated page, from the site root."""
    if rel_md == "index.md":
        return ""
    if rel_md.endswith("/index.md"):
        return rel_md[: -len("index.md")]
    return rel_md[: -len(".md")] + "/"


def relative_url(from_md: str, to_md: str) -> str:
    depth = page_url(from_md).count("/")
    return "../" * depth + page_url(to_md) or "./"


def format_date(day: dt.date) -> str:
    return f"{day:%B} {day.day}, {day.year}"


def topic_label(topic: str) -> str:
    return topic.replace("-", " ").capitalize()


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
    html: str
    toc: list[tuple[str, str, int]]
    references: list[ReferenceView]
    disclaimer_title: str
    disclaimer_text: str
    is_default: bool


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


class SiteRenderer:
    def __init__(self, project: Project, preview: bool, exclude: set[str]) -> None:
        assert project.settings is not None and project.board is not None
        self.project = project
        self.settings = project.settings
        self.board = project.board
        self.preview = preview
        self.formatter = ReferenceFormatter()
        self.revision_formatters: dict[str | None, ReferenceFormatter] = {}
        self.env = Environment(
            loader=FileSystemLoader(str(TEMPLATES)),
            undefined=StrictUndefined,
            autoescape=False,
            keep_trailing_newline=True,
            trim_blocks=True,
            lstrip_blocks=True,
        )
        self.env.filters["e"] = safety.escape_html
        self.env.filters["meta_text"] = meta_text
        self.settings_digest = hashlib.sha256(
            self.settings.model_dump_json().encode() + self.board.model_dump_json().encode()
        ).hexdigest()
        # What each page shows: in preview the working text; in production the current text
        # when approved, else the last approved revision from Git history.
        self.published: dict[str, Article] = {}
        self.under_review: set[str] = set()
        for article in sorted(project.articles.values(), key=lambda a: a.id):
            if article.meta is None or article.id in exclude:
                continue
            if preview:
                self.published[article.id] = article
                continue
            shown = publishing(project, article)
            if shown.article is not None:
                self.published[article.id] = shown.article
                if shown.under_review:
                    self.under_review.add(article.id)

    # --- article pages ------------------------------------------------------------------------

    def _variant(self, article: Article, body: Body) -> VariantView:
        audience = self.settings.audience(body.audience)
        assert audience is not None and article.meta is not None
        library = self.library(article)
        # Numbered as in the body's HTML: every cited key, by first citation.
        numbers = number_citations(c.key for c in body.facts.citations)
        html = body.facts.html.replace(AUDIENCE, body.audience)
        toc = [
            (hid.replace(AUDIENCE, body.audience), text, lvl) for hid, text, lvl in body.facts.toc
        ]
        references = [
            ReferenceView(
                number=n,
                anchor=f"ref-{body.audience}-{n}",
                label=reference.type_label,
                html=self.formatter_for(article).html(reference),
            )
            for key, n in numbers.items()
            if (reference := library.get(key)) is not None
        ]
        disclaimer_id = article.meta.disclaimer or audience.disclaimer
        disclaimer = self.settings.disclaimers[disclaimer_id]
        return VariantView(
            audience=audience.id,
            label=audience.label,
            title=body.title or article.meta.title,
            html=html,
            toc=toc,
            references=references,
            disclaimer_title=disclaimer.title,
            disclaimer_text=disclaimer.text,
            is_default=audience.default,
        )

    def _json_ld(self, article: Article, state: ApprovalState, variants: list[VariantView]) -> str:
        meta = article.meta
        assert meta is not None
        cited = []
        for key in dict.fromkeys(c.key.lower() for c in article.citations()):
            reference = self.library(article).get(key)
            if reference is None:
                continue
            item = {"@type": "CreativeWork", "name": reference.plain("title")}
            url = safety.doi_url(reference.entry.fields.get("doi", ""))
            if url:
                item["url"] = url
            cited.append(item)
        data = {
            "@context": "https://schema.org",
            "@type": "MedicalWebPage",
            "name": meta.title,
            "headline": meta.question,
            "dateModified": meta.last_updated.isoformat(),
            "keywords": meta.tags,
            "audience": [{"@type": "MedicalAudience", "audienceType": v.label} for v in variants],
            "citation": cited,
        }
        if state.valid:
            data["lastReviewed"] = max(r.day for r in state.valid).isoformat()
            data["reviewedBy"] = [
                {"@type": "Person", "name": self._member_name(r.reviewer)} for r in state.valid
            ]
        text = json.dumps(data, ensure_ascii=False, indent=None, separators=(",", ":"))
        return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")

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

    def _member_name(self, member_id: str) -> str:
        member = self.board.member(member_id)
        if member is None:
            return member_id
        return f"{member.name}, {member.credentials}" if member.credentials else member.name

    def article_page(self, article: Article) -> str:
        meta = article.meta
        assert meta is not None
        state = approval_state(self.project, article)
        rel_md = f"{article.id}.md"
        variants = [
            self._variant(article, article.bodies[a.id])
            for a in self.settings.audiences
            if a.id in article.bodies
        ]
        missing = [a for a in self.settings.audiences if a.id not in article.bodies]
        related = [
            (self.published[r].meta.title, relative_url(rel_md, f"{r}.md"))
            for r in meta.related
            if r in self.published and r != article.id
        ]
        approved = is_approved(self.project, article)
        step = STATUSES.index(meta.status) if (approved or meta.status != "approved") else 1
        return self.env.get_template("article.md.j2").render(
            article=article,
            meta=meta,
            variants=variants,
            missing=missing,
            default_audience=self.settings.default_audience,
            audiences=self.settings.audiences,
            steps=[STEP_LABELS[s] for s in STATUSES],
            step=step,
            banner=BANNER if not approved else None,
            revision_under_review=article.id in self.under_review,
            last_updated=format_date(meta.last_updated),
            reviewers=[self._member_name(r.reviewer) for r in state.valid],
            board_url=relative_url(rel_md, "board.md"),
            policy_url=relative_url(rel_md, "editorial-policy.md"),
            topic_url=relative_url(rel_md, f"{article.topic}/index.md"),
            topic_label=topic_label(article.topic),
            tags_url=relative_url(rel_md, "tags.md"),
            tags=[(t, slugify(t)) for t in meta.tags],
            related=related,
            intake_url=self.settings.question_intake_url,
            json_ld=self._json_ld(article, state, variants),
        )

    def article_inputs(self, article: Article, template_hash: str) -> str:
        """Everything an article page depends on, hashed: unchanged inputs, no re-render."""
        meta = article.meta
        assert meta is not None
        related = [
            (r, self.published[r].meta.title if r in self.published else None) for r in meta.related
        ]
        reviewers = [(r.reviewer, self._member_name(r.reviewer)) for r in meta.reviews]
        payload = {
            "template": template_hash,
            "settings": self.settings_digest,
            "fingerprint": approval_state(self.project, article).fingerprint,
            "review": [
                meta.status,
                meta.last_updated.isoformat(),
                [r.model_dump(mode="json") for r in meta.reviews],
            ],
            "reviewers": reviewers,
            "related": related,
            "preview": self.preview,
            "revision": article.revision,
            "under_review": article.id in self.under_review,
        }
        return hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()

    # --- site pages ---------------------------------------------------------------------------

    def topics(self) -> dict[str, list[Article]]:
        topics: dict[str, list[Article]] = {}
        for article in self.published.values():
            topics.setdefault(article.topic, []).append(article)
        return dict(sorted(topics.items()))

    def _entry(self, article: Article, from_md: str) -> dict:
        meta = article.meta
        return {
            "title": meta.title,
            "question": meta.question,
            "url": relative_url(from_md, f"{article.id}.md"),
            "status": STEP_LABELS[meta.status],
            "approved": is_approved(self.project, article),
            "last_updated": format_date(meta.last_updated),
        }

    def site_pages(self) -> dict[str, str]:
        topics = self.topics()
        pages: dict[str, str] = {}
        recent = sorted(
            (a for a in self.published.values() if approval_state(self.project, a).valid),
            key=lambda a: (approval_state(self.project, a).approved_on, a.id),
            reverse=True,
        )[:10]
        pages["index.md"] = self.env.get_template("home.md.j2").render(
            settings=self.settings,
            recent=[self._entry(a, "index.md") for a in recent],
            topics=[
                (topic_label(t), relative_url("index.md", f"{t}/index.md"), len(items))
                for t, items in topics.items()
            ],
            preview=self.preview,
            board_url=relative_url("index.md", "board.md"),
            policy_url=relative_url("index.md", "editorial-policy.md"),
            dashboard_url=relative_url("index.md", "review-dashboard.md"),
        )
        for topic, items in topics.items():
            rel_md = f"{topic}/index.md"
            pages[rel_md] = self.env.get_template("topic.md.j2").render(
                label=topic_label(topic),
                articles=[self._entry(a, rel_md) for a in items],
            )
        tags: dict[str, list[Article]] = {}
        for article in self.published.values():
            for tag in article.meta.tags:
                tags.setdefault(tag, []).append(article)
        pages["tags.md"] = self.env.get_template("tags.md.j2").render(
            tags=[
                (tag, slugify(tag), [self._entry(a, "tags.md") for a in items])
                for tag, items in sorted(tags.items(), key=lambda kv: kv[0].lower())
            ]
        )
        policy = self.project.policy
        pages["editorial-policy.md"] = self.env.get_template("policy.md.j2").render(
            policy_html=policy.html.replace(AUDIENCE, "policy") if policy else "",
            approvals_required=self.settings.review.approvals_required,
            board_url=relative_url("editorial-policy.md", "board.md"),
        )
        pages["board.md"] = self.env.get_template("board.md.j2").render(
            reviewers=[m for m in self.board.members if m.role == "reviewer"],
            editors=[m for m in self.board.members if m.role == "editor"],
        )
        if self.preview:
            rows = []
            for article in sorted(self.project.articles.values(), key=lambda a: a.id):
                if article.meta is None:
                    continue
                state = approval_state(self.project, article)
                rows.append(
                    {
                        **self._entry(article, "review-dashboard.md"),
                        "id": article.id,
                        "raw_status": article.meta.status,
                        "valid": len(state.valid),
                        "required": state.required,
                        "stale": ", ".join(r.reviewer for r in state.stale) or "-",
                        "due": state.due.isoformat() if state.due else "-",
                        "overdue": bool(state.due and state.due < self.project.today),
                    }
                )
            pages["review-dashboard.md"] = self.env.get_template("dashboard.md.j2").render(
                rows=rows
            )
        return pages

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


def meta_text(value: object) -> str:
    """A field for a generated page's front matter, as a YAML string. MkDocs themes insert
    `title` and `description` into the page without escaping, so the value is escaped HTML."""
    return json.dumps(safety.escape_html(value), ensure_ascii=False)


def template_hash() -> str:
    digest = hashlib.sha256()
    for path in sorted(TEMPLATES.glob("*")):
        digest.update(path.name.encode())
        digest.update(path.read_bytes())
    # The code that turns a body and its references into HTML is an input of every page too.
    for module in ("render.py", "citations.py", "references.py", "safety.py"):
        digest.update((Path(__file__).parent / module).read_bytes())
    return digest.hexdigest()


# Below this many pages to render, one process is faster than starting workers.
PARALLEL_THRESHOLD = 300
_worker_renderer: SiteRenderer | None = None  # inherited by forked workers


def _format_chunk(keys: list[str]) -> dict[str, str]:
    renderer = _worker_renderer
    assert renderer is not None
    return {key: renderer.formatter.html(renderer.project.library.get(key)) for key in keys}


Written = tuple[str, bool, str]  # (page, whether its file changed, digest of its content)


def page_digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _write_articles(renderer: SiteRenderer, out_dir: Path, article_ids: list[str]) -> list[Written]:
    """Render and write article pages (atomically)."""
    done = []
    for article_id in article_ids:
        rel_md = f"{article_id}.md"
        page = renderer.article_page(renderer.published[article_id])
        changed = paths.write_if_changed(out_dir / rel_md, page)
        done.append((rel_md, changed, page_digest(page.encode("utf-8"))))
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
    keys = sorted(
        {
            c.key.lower()
            for i in article_ids
            for c in renderer.published[i].citations()
            if renderer.published[i].library is None and renderer.project.library.get(c.key)
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


class DuplicatePage(Exception):
    """Two pages of one build would be written to one path."""

    def __init__(self, rel_md: str) -> None:
        super().__init__(rel_md)
        self.rel_md = rel_md


class PageWriter:
    """Refuses to write one output path twice in a build (as Pelican's writer does): a
    collision is an error, never a silent overwrite."""

    def __init__(self) -> None:
        self.claimed: set[str] = set()

    def claim(self, rel_md: str) -> None:
        if rel_md in self.claimed:
            raise DuplicatePage(rel_md)
        self.claimed.add(rel_md)


def _read_manifest(path: Path) -> dict[str, dict[str, str]]:
    """What each generated page was made from and its digest; {} when unreadable or old."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    if not isinstance(data, dict):
        return {}
    return {k: v for k, v in data.items() if isinstance(v, dict)}


def _intact(path: Path, digest: str | None) -> bool:
    """A generated page is reused only when it is exactly the page the manifest recorded."""
    if digest is None:
        return False
    try:
        return page_digest(path.read_bytes()) == digest
    except OSError:
        return False


def render_site(
    project: Project,
    out_dir: Path,
    preview: bool,
    progress: Callable[[int, int], None] | None = None,
    exclude: set[str] | None = None,
) -> RenderResult:
    """Write the generated docs folder; return what was written and the navigation."""
    renderer = SiteRenderer(project, preview, exclude or set())
    result = RenderResult(
        nav=renderer.nav(),
        published=list(renderer.published),
        last_approved=sorted(renderer.under_review),
    )
    for article in project.articles.values():
        if article.id not in renderer.published:
            reason = "left out of the preview" if preview else publishing(project, article).reason
            result.held_back.append((article.id, reason))
    manifest_path = out_dir / MANIFEST
    old_manifest = _read_manifest(manifest_path)
    manifest: dict[str, dict[str, str]] = {}
    expected: set[str] = set()
    templates = template_hash()
    writer = PageWriter()

    def emit(rel_md: str, text: str) -> None:
        writer.claim(rel_md)
        expected.add(rel_md)
        if paths.write_if_changed(out_dir / rel_md, text):
            result.written.append(rel_md)
        else:
            result.unchanged += 1

    stale = []
    for article in renderer.published.values():
        rel_md = f"{article.id}.md"
        writer.claim(rel_md)
        inputs = renderer.article_inputs(article, templates)
        old = old_manifest.get(rel_md, {})
        if old.get("inputs") == inputs and _intact(out_dir / rel_md, old.get("digest")):
            manifest[rel_md] = old
            expected.add(rel_md)
            result.skipped_renders += 1
            result.unchanged += 1
        else:
            manifest[rel_md] = {"inputs": inputs}
            stale.append(article.id)
    rendered = _render_articles(renderer, out_dir, stale)
    for done, (rel_md, changed, digest) in enumerate(rendered, 1):
        manifest[rel_md]["digest"] = digest
        expected.add(rel_md)
        if changed:
            result.written.append(rel_md)
        else:
            result.unchanged += 1
        if progress:
            progress(done, len(stale))
    for rel_md, text in renderer.site_pages().items():
        emit(rel_md, text)
    result.formatted_references = renderer.formatter.formatted_count
    if out_dir.is_dir():
        # Whatever this build did not write goes, whatever its kind: MkDocs would publish any
        # file left in its docs folder.
        for path in sorted(out_dir.rglob("*"), reverse=True):
            rel_md = path.relative_to(out_dir).as_posix()
            if rel_md in expected or rel_md in (MANIFEST, ".made-here"):
                continue
            if path.is_dir() and not path.is_symlink():
                if not any(path.iterdir()):
                    path.rmdir()
                continue
            path.unlink()
            result.removed.append(rel_md)
    paths.write_if_changed(manifest_path, json.dumps(manifest, indent=0, sort_keys=True))
    return result
