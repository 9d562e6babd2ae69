"""Validation rules. Each rule takes the loaded project and yields diagnostics of the codes it
declares (each explained in pipeline/codes.py); `run_checks` runs them all after the loader's
own findings, so every problem is reported in one run.

Most rules read one article at a time (and the references it cites): what they find in it is
its `Judgement`, which a check can keep by what the article is made of. A few rules join
articles or read the references alone (`scope="join"`): they read only each article's `Links`
and the library's `LibraryFacts`, so that they can run without the articles loaded. Rules of
`scope="settings"` read the configuration only."""

from __future__ import annotations

import datetime as dt
import os
import pickle
from collections.abc import Callable, Iterator
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass, field
from itertools import groupby
from typing import Any, NamedTuple

from pipeline import cache, paths, safety
from pipeline.approval import FINGERPRINT_MEMO, approval_state, article_state
from pipeline.citations import BodyFacts, NearMiss
from pipeline.codes import CODES
from pipeline.diagnostics import Diagnostic, diag, did_you_mean
from pipeline.loader import Article, Body, Project
from pipeline.model import Audience
from pipeline.references import Reference, latex_text
from pipeline.signing import Verdict, timestamp
from pipeline.template import may_hold_placeholder, placeholder

Check = Callable[[Project], Iterator[Diagnostic]]


class Links(NamedTuple):
    """What the rules that join articles read of one article (a tuple: made in bulk)."""

    id: str
    file: str
    readable: bool  # any body was read (an unreadable article may cite anything)
    cited: tuple[str, ...]  # the keys it cites, sorted
    related: tuple[tuple[str, int | None], ...]  # (article id, line) of a valid one's `related`


def links_of(article: Article) -> Links:
    related = ()
    if article.meta is not None:
        related = tuple(
            (other, article.line_of("related", index))
            for index, other in enumerate(article.meta.related)
        )
    cited = tuple(sorted(article.cited_keys()))
    return Links(article.id, article.file, bool(article.bodies), cited, related)


@dataclass
class LibraryFacts:
    """What the rules that join articles to the references read of the library: a pure
    function of the reference files."""

    entries: list[tuple[str, str, str, int]]  # (lower-case key, key, file, line) in order
    missing: dict[str, list[Diagnostic]]  # reference.missing-field, by lower-case key
    markup: list[Diagnostic]  # what `markup_in_references` finds
    diagnostics: list[Diagnostic]  # the library's own (syntax, duplicate keys)


Join = Callable[[list[Links], LibraryFacts], Iterator[Diagnostic]]


class Dated(NamedTuple):
    """A finding reported only on some days: from `first` to `last` (None: no bound)."""

    found: Diagnostic
    first: dt.date | None
    last: dt.date | None

    def on(self, day: dt.date) -> bool:
        return (self.first is None or day >= self.first) and (self.last is None or day <= self.last)


DatedCheck = Callable[[Project], Iterator[Dated]]


@dataclass(frozen=True)
class Rule:
    check: Check
    codes: tuple[str, ...]  # every code the rule may report
    references_only: bool = False  # it reports on reference files only, never on an article
    # "article": it judges each article alone, by its files and the references it cites;
    # "join": it reads `Links` and `LibraryFacts` only (`join`); "settings": the configuration.
    scope: str = "article"
    join: Join | None = None
    by_audience: bool = False  # reported audience by audience, then article by article
    # For a rule whose findings depend on the date: each finding with the days it is reported
    # on, so that what it finds in an article is kept from one day to the next.
    dated: DatedCheck | None = None

    @property
    def name(self) -> str:
        return self.check.__name__

    def __call__(self, project: Project) -> Iterator[Diagnostic]:
        for found in self.check(project):
            if found.code not in self.codes:
                raise KeyError(f"rule {self.name} reported {found.code}, which it does not declare")
            yield found


RULES: list[Rule] = []


def rule(
    *codes: str, references_only: bool = False, scope: str = "article", by_audience: bool = False
) -> Callable[[Check], Rule]:
    """Register a check that reports the declared codes (each must be in pipeline/codes.py)."""
    for code in codes:
        if code not in CODES:
            raise KeyError(f"unknown diagnostic code {code}: declare it in pipeline/codes.py")

    def register(check: Check) -> Rule:
        declared = Rule(check, codes, references_only, scope, by_audience=by_audience)
        RULES.append(declared)
        return declared

    return register


def join_rule(
    *codes: str, references_only: bool = False, reads_library: bool = True
) -> Callable[[Join], Rule]:
    """Register a rule that joins articles: it reads each article's `Links` and the library's
    `LibraryFacts` only, whether or not the articles are loaded. One that reads no library
    (`reads_library=False`) is given none, so that it costs nothing per reference."""

    for code in codes:
        if code not in CODES:
            raise KeyError(f"unknown diagnostic code {code}: declare it in pipeline/codes.py")

    def register(join: Join) -> Rule:
        def check(project: Project) -> Iterator[Diagnostic]:
            library = library_facts(project) if reads_library else _NO_LIBRARY
            return join(project_links(project), library)

        check.__name__ = join.__name__
        declared = Rule(check, codes, references_only, "join", join)
        RULES.append(declared)
        return declared

    return register


def dated_rule(*codes: str) -> Callable[[DatedCheck], Rule]:
    """Register a rule of scope "article" whose findings depend on the date: it yields each
    finding with the days it is reported on, and reports those of `project.today`."""

    for code in codes:
        if code not in CODES:
            raise KeyError(f"unknown diagnostic code {code}: declare it in pipeline/codes.py")

    def register(dated: DatedCheck) -> Rule:
        def check(project: Project) -> Iterator[Diagnostic]:
            return (item.found for item in dated(project) if item.on(project.today))

        check.__name__ = dated.__name__
        declared = Rule(check, codes, dated=dated)
        RULES.append(declared)
        return declared

    return register


def project_links(project: Project) -> list[Links]:
    """Every article's links, in order (worked out once per run)."""
    if _LINKS not in project.memo:
        project.memo[_LINKS] = [links_of(article) for article in project.articles.values()]
    return project.memo[_LINKS]


def library_facts(project: Project) -> LibraryFacts:
    """What the join rules read of the project's library (worked out once per run)."""
    if _LIBRARY not in project.memo:
        library = project.library
        entries = [(k, r.key, r.file, r.line) for k, r in library.references.items()]
        missing = {}
        for key, reference in library.references.items():
            found = [
                diag(
                    "reference.missing-field",
                    reference.file,
                    reference.line,
                    f"The reference '{reference.key}' is cited but has no {name}.",
                )
                for name in reference.missing_fields()
            ]
            if found:
                missing[key] = found
        markup = []
        # A run of references from one file is judged (and kept) at once, by their keys.
        for file, run in groupby(library.references.values(), key=lambda r: r.file):
            these = list(run)
            keys = tuple(reference.key for reference in these)
            markup += _findings(project, "markup_in_references", [file], keys, _markups, these)
        project.memo[_LIBRARY] = LibraryFacts(entries, missing, markup, list(library.diagnostics))
    return project.memo[_LIBRARY]


_LINKS, _LIBRARY = "links", "library-facts"
_NO_LIBRARY = LibraryFacts([], {}, [], [])  # for a join rule that reads no library


def _valid_articles(project: Project) -> Iterator[Article]:
    for article in project.articles.values():
        if article.meta is not None:
            yield article


@rule("citation.unknown-key")
def unknown_citation_keys(project: Project) -> Iterator[Diagnostic]:
    keys: list[str] | None = None  # made only when a key is unknown
    for article in project.articles.values():
        for body in article.bodies.values():
            for citation in body.facts.citations:
                if project.library.get(citation.key) is None:
                    keys = project.library.keys() if keys is None else keys
                    yield diag(
                        "citation.unknown-key",
                        body.file,
                        citation.line,
                        f"The citation [@{citation.key}] matches no entry in references/*.bib."
                        + did_you_mean(citation.key, keys, "`@{}`"),
                    )


def malformed_citations(project: Project, body: Body) -> list[NearMiss]:
    """The near misses of a body that are reported: every bracketed or "see @key" one, and a
    bare `@word` only when the word is a key of the library (else it may be a name or handle)."""
    return [
        miss
        for miss in body.facts.near_misses
        if miss.certain or all(project.library.get(key) is not None for key in miss.keys)
    ]


@rule("citation.malformed")
def near_miss_citations(project: Project) -> Iterator[Diagnostic]:
    for article in project.articles.values():
        for body in article.bodies.values():
            for miss in malformed_citations(project, body):
                uncited = {line for line, _ in body.facts.uncited_bullets}
                counts = (
                    "; until then this bullet cites no source" if miss.bullet in uncited else ""
                )
                yield diag(
                    "citation.malformed",
                    body.file,
                    miss.line,
                    f"'{miss.text[:60]}' is not read as a citation: write {miss.suggestion[:80]} "
                    f"(keys in square brackets, separated by semicolons){counts}.",
                )


@rule("citation.missing")
def uncited_bullets(project: Project) -> Iterator[Diagnostic]:
    for article in project.articles.values():
        for body in article.bodies.values():
            # A bullet whose citation is mistyped is reported once, as citation.malformed.
            mistyped = {miss.bullet for miss in malformed_citations(project, body)}
            for line, section in body.facts.uncited_bullets:
                if line in mistyped:
                    continue
                yield diag(
                    "citation.missing",
                    body.file,
                    line,
                    f"This bullet in '{section}' cites no source; every bullet in that section "
                    "needs a citation such as [@key].",
                )


def cited_keys(project: Project) -> set[str]:
    return {key for a in project.articles.values() for key in a.cited_keys()}


def _cited(links: list[Links]) -> set[str]:
    return set().union(*(article.cited for article in links))


@join_rule("reference.missing-field", references_only=True)
def incomplete_references(links: list[Links], library: LibraryFacts) -> Iterator[Diagnostic]:
    for key in sorted(_cited(links)):
        yield from library.missing.get(key.lower(), ())


@join_rule("reference.unused", references_only=True)
def unused_references(links: list[Links], library: LibraryFacts) -> Iterator[Diagnostic]:
    if any(not article.readable for article in links):
        return  # an unreadable article may cite anything: "unused" would be a guess
    cited = _cited(links)
    for key, written, file, line in library.entries:
        if key not in cited:
            yield diag(
                "reference.unused",
                file,
                line,
                f"The reference '{written}' is not cited by any article.",
            )


@rule("disclaimer.unknown")
def unknown_disclaimers(project: Project) -> Iterator[Diagnostic]:
    settings = project.settings
    if settings is None:
        return
    for article in _valid_articles(project):
        name = article.meta.disclaimer
        if name is not None and name not in settings.disclaimers:
            known = ", ".join(sorted(settings.disclaimers))
            yield diag(
                "disclaimer.unknown",
                article.file,
                article.line_of("disclaimer"),
                f"The disclaimer '{name}' does not exist (known: {known})."
                + did_you_mean(name, settings.disclaimers),
            )


@rule("frontmatter.schema", "review.unknown-reviewer")
def unknown_people(project: Project) -> Iterator[Diagnostic]:
    board = project.board
    if board is None:
        return
    members = [m.id for m in board.members]
    reviewers = [m.id for m in board.reviewers()]
    for article in _valid_articles(project):
        for index, author in enumerate(article.meta.authors):
            if board.member(author) is None:
                yield diag(
                    "frontmatter.schema",
                    article.file,
                    article.line_of("authors", index),
                    f"The author '{author}' is not listed in content/board.yml."
                    + did_you_mean(author, members),
                )
        for index, record in enumerate(article.meta.reviews):
            member = board.member(record.reviewer)
            if member is None or member.role != "reviewer":
                why = (
                    "is not listed in content/board.yml" if member is None else "is not a reviewer"
                )
                yield diag(
                    "review.unknown-reviewer",
                    article.file,
                    article.line_of("reviews", index, "reviewer"),
                    f"The review by '{record.reviewer}' does not count: '{record.reviewer}' {why}."
                    + (did_you_mean(record.reviewer, reviewers) if member is None else ""),
                )


@rule("review.self-approval")
def self_approvals(project: Project) -> Iterator[Diagnostic]:
    for article in _valid_articles(project):
        for index, record in enumerate(article.meta.reviews):
            if record.decision == "approved" and record.reviewer in article.meta.authors:
                yield diag(
                    "review.self-approval",
                    article.file,
                    article.line_of("reviews", index, "reviewer"),
                    f"'{record.reviewer}' is an author of this article and cannot approve it.",
                )


@rule("review.stale", "review.insufficient")
def approvals(project: Project) -> Iterator[Diagnostic]:
    for article in _valid_articles(project):
        if project.board is None or not article_state(project, article).claims_approval_that_fails:
            continue
        state = approval_state(project, article)
        line = article.line_of("status")
        have = f"{len(state.valid)} valid approval(s) of {state.required} required"
        if state.stale:
            names = ", ".join(sorted(r.reviewer for r in state.stale))
            yield diag(
                "review.stale",
                article.file,
                line,
                f"The article changed after it was approved by {names} ({have}): set the status "
                "back to under_review and ask for a fresh approval.",
            )
        else:
            yield diag(
                "review.insufficient",
                article.file,
                line,
                f"The status is approved but the article has {have}.",
            )


_VERDICT_CODES = {
    Verdict.MISSING: (
        "review.unsigned",
        "has no signature; only `pipeline review` writes records that count",
    ),
    Verdict.MALFORMED: ("review.bad-signature", "carries something that is not an SSH signature"),
    Verdict.BAD: (
        "review.bad-signature",
        "has a signature that does not match the record: it was edited or copied from another",
    ),
    Verdict.FOREIGN: (
        "review.foreign-key",
        "is signed by a key that is not the reviewer's `signing_key` in content/board.yml",
    ),
}


@rule("review.unsigned", "review.bad-signature", "review.foreign-key", "review.unverified-history")
def review_signatures(project: Project) -> Iterator[Diagnostic]:
    """A record that claims the current text and does not verify is a forgery or a broken
    copy; one on older text only means it no longer counts (e.g. after a key was removed)."""
    if project.board is None or project.settings is None:
        return
    for article in _valid_articles(project):
        state = approval_state(project, article)
        for item in state.unverified:
            member = project.board.member(item.record.reviewer)
            if member is None or member.role != "reviewer":
                continue  # review.unknown-reviewer says what is wrong with it
            who = f"The {item.record.decision} record by '{item.record.reviewer}'"
            line = article.line_of("reviews", item.index, "signature") or article.line_of(
                "reviews", item.index
            )
            code, why = _VERDICT_CODES[item.verdict]
            if item.record.fingerprint == state.fingerprint:
                yield diag(code, article.file, line, f"{who} {why}. It does not count.")
            else:
                yield diag(
                    "review.unverified-history",
                    article.file,
                    line,
                    f"{who} (on an earlier version) {why}; it does not count.",
                )


@dated_rule("review.overdue")
def overdue_reviews(project: Project) -> Iterator[Dated]:
    for article in _valid_articles(project):
        if project.board is None:
            continue
        state = article_state(project, article)
        if state.overdue_from is not None:
            found = diag(
                "review.overdue",
                article.file,
                article.line_of("status"),
                f"The last approval was due for review on {state.approval.due.isoformat()}.",
            )
            yield Dated(found, state.overdue_from, None)


# One day of tolerance: a reviewer east of UTC approves "tomorrow" in UTC terms. A date is in
# the future while it lies more than a day after today, so until two days before it.
_FUTURE_UNTIL = dt.timedelta(days=2)


@dated_rule("date.future")
def future_dates(project: Project) -> Iterator[Dated]:
    for article in _valid_articles(project):
        found = diag(
            "date.future",
            article.file,
            article.line_of("last_updated"),
            f"last_updated ({article.meta.last_updated}) lies in the future.",
        )
        yield Dated(found, None, article.meta.last_updated - _FUTURE_UNTIL)
        for index, record in enumerate(article.meta.reviews):
            found = diag(
                "date.future",
                article.file,
                article.line_of("reviews", index, "date"),
                f"The review by '{record.reviewer}' is dated {timestamp(record.date)}, "
                "in the future.",
            )
            yield Dated(found, None, record.day - _FUTURE_UNTIL)


@join_rule("link.unknown-article", reads_library=False)
def related_links(links: list[Links], library: LibraryFacts) -> Iterator[Diagnostic]:
    ids = {article.id for article in links}
    for article in links:
        for other, line in article.related:
            if other == article.id:
                message = f"The related article '{other}' is this article itself."
            elif other not in ids:
                others = [a.id for a in links if a.id != article.id]
                message = f"The related article '{other}' does not exist."
                message += did_you_mean(other, others)
            else:
                continue
            yield diag("link.unknown-article", article.file, line, message)


def _strings(value: Any, loc: tuple[Any, ...] = ()) -> list[tuple[tuple[Any, ...], str]]:
    """Every text in YAML data, with its place, in the order written (depth first)."""
    found = []
    stack = [(loc, value)]
    while stack:
        loc, value = stack.pop()
        if isinstance(value, str):
            found.append((loc, value))
        elif isinstance(value, dict):
            stack.extend(((*loc, key), item) for key, item in reversed(value.items()))
        elif isinstance(value, list):
            stack.extend(((*loc, index), value[index]) for index in reversed(range(len(value))))
    return found


def _field_problems(file: str, line: int | None, name: str, value: str) -> Iterator[Diagnostic]:
    """A text field is text: markup in it is `content.raw-html`, an image from another host
    `content.external-resource`."""
    if not safety.looks_suspicious(value):
        return
    why = safety.markup_in_text(value)
    if why is not None:
        yield diag(
            "content.raw-html",
            file,
            line,
            f"The field `{name}` contains {why}; fields are plain text, write it without markup.",
        )
    address = safety.external_resource_in_text(value)
    if address is not None:
        yield diag(
            "content.external-resource",
            file,
            line,
            f"The field `{name}` loads '{address[:60]}' from another host; the site loads "
            "nothing from elsewhere.",
        )


def _body_problems(file: str, facts: BodyFacts) -> Iterator[Diagnostic]:
    for line in facts.raw_html:
        yield diag(
            "content.raw-html", file, line, "Raw HTML is not allowed in articles; write Markdown."
        )
    for line, href in facts.unsafe_links:
        yield diag(
            "content.raw-html",
            file,
            line,
            f"The link '{href[:40]}' runs code or embeds data; link to a web page instead.",
        )
    for line, src in facts.external_images:
        yield diag(
            "content.external-resource",
            file,
            line,
            f"The image '{src[:60]}' is loaded from another host; put the image in the "
            "repository and link it with a relative path.",
        )


def _loc_name(loc: tuple[Any, ...]) -> str:
    return ".".join(map(str, loc))


@rule("content.raw-html", "content.external-resource")
def raw_html(project: Project) -> Iterator[Diagnostic]:
    for article in project.articles.values():
        yield from _findings(project, "raw_html", _files_of(article), (), _raw_html, article)


def _raw_html(article: Article) -> Iterator[Diagnostic]:
    for loc, value in _strings(article.raw):
        if safety.looks_suspicious(value):  # else plain text: no line or name to work out
            yield from _field_problems(article.file, article.line_of(*loc), _loc_name(loc), value)
    for body in article.bodies.values():
        if body.title_line is not None and body.title:
            yield from _field_problems(body.file, body.title_line, "title", body.title)
        yield from _body_problems(body.file, body.facts)


@rule("content.placeholder")
def template_text(project: Project) -> Iterator[Diagnostic]:
    for article in project.articles.values():
        yield from _findings(project, "template_text", _files_of(article), (), _template, article)


def _template(article: Article) -> Iterator[Diagnostic]:
    shown = {name: value for name, value in article.raw.items() if name != "reviews"}
    for loc, value in _strings(shown):
        found = placeholder(value)
        if found is not None:
            yield diag(
                "content.placeholder",
                article.file,
                article.line_of(*loc),
                f"The field `{_loc_name(loc)}` still holds the `pipeline new` template text "
                f"('{found[:60]}'): replace it with the article's own words.",
            )
    for body in article.bodies.values():
        if not may_hold_placeholder(body.text):
            continue
        for offset, text in enumerate(body.text.split("\n")):
            found = placeholder(text)
            if found is not None:
                yield diag(
                    "content.placeholder",
                    body.file,
                    body.first_line + offset,
                    f"This line still holds the `pipeline new` template text "
                    f"('{found[:60]}'): replace it with the article's own words and the "
                    "sources that support them.",
                )


def readability_targets(project: Project) -> Iterator[tuple[Article, Body, Audience]]:
    """Every body whose audience sets a `readability_grade`."""
    if project.settings is None:
        return
    for audience in project.settings.audiences:
        if audience.readability_grade is None:
            continue
        key = "default" if audience.default else audience.id
        for article in project.articles.values():
            body = article.bodies.get(key)
            if body is not None:
                yield article, body, audience


@rule("readability.grade", by_audience=True)
def reading_grade(project: Project) -> Iterator[Diagnostic]:
    from pipeline.readability import measure_all

    targets = list(readability_targets(project))
    grades = measure_all([(b.text, b.first_line) for _a, b, _t in targets], project.cache_folder)
    for (_article, body, audience), measured in zip(targets, grades, strict=True):
        target = audience.readability_grade
        if measured is None or target is None or measured.grade <= target:
            continue
        longest = measured.longest(3)
        listed = "; ".join(
            f"line {s.line} ({s.words} words: '{s.text[:50]}{'...' if len(s.text) > 50 else ''}')"
            for s in longest
        )
        yield diag(
            "readability.grade",
            body.file,
            longest[0].line,
            f"This wording for '{audience.id}' reads at Flesch-Kincaid grade {measured.grade:g}, "
            f"above its target of {target:g} (content/publication.yml); shorten the longest "
            f"sentences and use everyday words: {listed}.",
            severity=audience.readability_severity,
        )


# Settings fields that are addresses: judged as URLs, not only as text.
_URL_FIELDS = {"site_url", "question_intake_url"}


@rule("content.raw-html", "content.external-resource", scope="settings")
def markup_in_settings(project: Project) -> Iterator[Diagnostic]:
    for file, doc in sorted(project.settings_yaml.items()):
        for loc, value in _strings(doc.data):
            if loc == ("editorial_policy",) and file == paths.PUBLICATION_FILE:
                continue  # Markdown: checked like a body, below
            line = doc.line_of(loc)
            yield from _field_problems(file, line, _loc_name(loc), value)
            if loc and loc[-1] in _URL_FIELDS and safety.is_unsafe_url(value):
                yield diag(
                    "content.raw-html",
                    file,
                    line,
                    f"`{_loc_name(loc)}` must be an http or https address, not a script or "
                    "data link.",
                )
    if project.policy is not None:
        yield from _body_problems(paths.PUBLICATION_FILE, project.policy)


@join_rule(
    "content.raw-html",
    "content.external-resource",
    "reference.invalid-identifier",
    references_only=True,
)
def markup_in_references(links: list[Links], library: LibraryFacts) -> Iterator[Diagnostic]:
    return iter(library.markup)  # each reference's own, worked out in `library_facts`


def _markups(references: list[Reference]) -> Iterator[Diagnostic]:
    for reference in references:
        yield from _markup(reference)


def _worth_judging(values: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """The (name, value) pairs of a reference `_markup` must look at. Any value that looks
    suspicious makes the values joined look so ("|" is plain text): when they do not, no value
    holds markup, and only a url can still be unsafe."""
    if safety.looks_suspicious("|".join(value for _, value in values)):
        return values
    return [(name, value) for name, value in values if name == "url"]


def _markup(reference: Reference) -> Iterator[Diagnostic]:
    entry = reference.entry
    values = list(entry.fields.items())
    values += [(role, str(p)) for role, people in entry.persons.items() for p in people]
    values = _worth_judging(values)
    for name, value in values:
        line = reference.line_of(name)
        where = f"{reference.key}.{name}"
        yield from _field_problems(reference.file, line, where, value)
        plain = str(latex_text(value)) if safety.looks_suspicious(value) else value
        if plain != value:
            yield from _field_problems(reference.file, line, where, plain)
        if name == "url" and safety.is_unsafe_url(value):
            yield diag(
                "content.raw-html",
                reference.file,
                line,
                f"The url of '{reference.key}' is a script or data link; give a web address.",
            )
    for name, valid in (("doi", safety.doi_url), ("pmid", safety.pubmed_url)):
        value = entry.fields.get(name)
        if value is not None and valid(value) is None:
            yield diag(
                "reference.invalid-identifier",
                reference.file,
                reference.line_of(name),
                f"The {name} of '{reference.key}' ('{value[:40]}') is not a valid "
                + ("DOI (10.NNNN/...)" if name == "doi" else "PubMed id (digits)")
                + "; it is shown as text, not as a link.",
            )


def run_checks(project: Project, articles_only: bool = False) -> list[Diagnostic]:
    """Every rule's findings after the loader's; `articles_only` leaves out the rules that
    report on reference files only (a live preview showing one saved article first)."""
    if project.config_failed:
        return list(project.diagnostics)  # nothing else was read: nothing else to judge
    found = list(project.diagnostics)  # what the loader met on the way
    with caches(project):
        for check in RULES:
            if articles_only and check.references_only:
                continue
            found.extend(check(project))
    return found


@contextmanager
def caches(project: Project) -> Iterator[None]:
    """The parse cache's per-file findings and fingerprints, for the rules of one run."""
    with _findings_pack(project):
        _recall_fingerprints(project)
        yield


@contextmanager
def _findings_pack(project: Project) -> Iterator[None]:
    """The parse cache's per-file findings, for the rules run meanwhile."""
    where = project.cache_folder
    project.memo[_FINDINGS] = cache.Pack(where, "findings") if where is not None else None
    try:
        yield
    finally:
        pack = project.memo.pop(_FINDINGS)
    if pack is not None:
        pack.save()


@dataclass(slots=True)
class Judgement:
    """What the rules of scope "article" found in one article, by rule, with what reading its
    files found and its links: everything a check reports of it, kept by what it is made of
    (pipeline/checkcache.py)."""

    links: Links
    parsed: dict[str, list[Diagnostic]]  # what reading and parsing found, by file
    # By the rule's place in RULES, for the rules that found any (a `dated` rule's with the
    # days they are reported on: a judgement holds for every day).
    found: dict[int, list[Diagnostic]]
    # For the `by_audience` rules' findings: each file's place among the audiences reported on.
    ranks: dict[str, int] = field(default_factory=dict)
    since: dt.date = dt.date.min  # the first day it holds for (`dated` findings over before it
    # are left out)


Judged = tuple[dict[str, Judgement], dict[int, list[Diagnostic]]]


def judge(project: Project, whole_library: bool = True) -> Judged | None:
    """Each article's judgement (in article order), and what the rules of scope "settings"
    found, by their place in RULES; the join rules are left to `assemble` (their
    `library_facts` are worked out here, with the per-file caches, when the project has its
    `whole_library`). None when a rule reported on a file of no article (such findings
    cannot be kept by article). A whole check of many articles is judged on every core
    instead (pipeline/judging.py), with `judge_part` and `judge_library`."""
    assert not project.config_failed
    return _judge(project, whole_library, whole_library)


def judge_part(project: Project) -> Judged | None:
    """`judge` of some of a publication's articles, with the per-file caches and the whole
    library, leaving the library's facts to `judge_library` (worked out once, elsewhere)."""
    assert not project.config_failed
    return _judge(project, True, False)


def judge_library(project: Project) -> LibraryFacts:
    """The library's facts, with the per-file findings cache, for a check whose articles are
    judged by `judge_part`."""
    with _findings_pack(project):
        return library_facts(project)


class Forked:
    """`work()` run in a forked copy of this process: `result()` is its value with what the
    packs it saved collected (`cache.collecting`), or None when the fork or the work failed
    (the caller then does the work itself)."""

    def __init__(self, work: Callable[[], Any]) -> None:
        self.pid = 0
        try:
            read, write = os.pipe()
            self.pid = os.fork()
        except OSError:
            return
        if self.pid == 0:  # the copy: do the work, hand it back, never return
            code = 1
            try:
                os.close(read)
                with cache.collecting() as saves:
                    value = work()
                data = pickle.dumps((value, saves), protocol=pickle.HIGHEST_PROTOCOL)
                with open(write, "wb") as handle:
                    handle.write(data)
                code = 0
            finally:
                os._exit(code)  # no exit handlers, no flushing of this process' buffers
        os.close(write)
        self.read = read

    def result(self) -> tuple[Any, dict[str, cache.Collected]] | None:
        if self.pid == 0:
            return None
        with open(self.read, "rb") as handle:
            data = handle.read()
        _, status = os.waitpid(self.pid, 0)
        if status != 0:
            return None
        try:
            return pickle.loads(data)  # made by this process' own copy
        except Exception:  # noqa: BLE001 - anything unreadable: the caller works it out
            return None


def _judge(project: Project, use_caches: bool, library: bool) -> Judged | None:
    """`judge` in this process, with the per-file caches (`use_caches`) and the library's
    facts (`library`)."""
    owner = {}
    for article in project.articles.values():
        owner[article.file] = article.id
        for body in article.bodies.values():
            owner[body.file] = article.id
    judged = {
        article.id: Judgement(
            links_of(article), project.source_findings.get(article.id, {}), {}, {}, project.today
        )
        for article in project.articles.values()
    }
    settings_found: dict[int, list[Diagnostic]] = {}
    ranks = audience_ranks(project) if any(check.by_audience for check in RULES) else {}
    # A few articles judged alone: the per-file caches would cost more to read than they save.
    with caches(project) if use_caches else nullcontext():
        for position, check in enumerate(RULES):
            if check.scope == "join":
                continue
            if check.scope == "settings":
                settings_found[position] = list(check(project))
                continue
            items = check.dated(project) if check.dated is not None else check(project)
            for item in items:
                found = item.found if isinstance(item, Dated) else item
                if isinstance(item, Dated):
                    if found.code not in check.codes:
                        raise KeyError(f"rule {check.name} reported {found.code}, undeclared")
                    if item.last is not None and item.last < project.today:
                        continue  # over before the first day this judgement is for
                article_id = owner.get(found.file)
                if article_id is None:
                    return None
                judgement = judged[article_id]
                judgement.found.setdefault(position, []).append(item)  # type: ignore[arg-type]
                if check.by_audience:
                    judgement.ranks[found.file] = ranks.get(found.file, 0)
        if library:
            library_facts(project)
    return judged, settings_found


def assemble(
    project_found: list[Diagnostic],
    judged: list[Judgement],
    settings_found: dict[int, list[Diagnostic]],
    library: LibraryFacts,
    today: dt.date,
) -> list[Diagnostic]:
    """What `run_checks` reports, made of `project_found` (the loader's findings: its
    `diagnostics`, or the same made of the survey's, each file's `parsed` and the library's),
    each article's judgement (in article order) and the join rules run on their links."""
    found = list(project_found)
    links = [judgement.links for judgement in judged]
    by_rule: dict[int, list[Diagnostic]] = {}  # each article-scope rule's, in article order
    ranks: dict[str, int] = {}
    for judgement in judged:
        for position, these in judgement.found.items():
            by_rule.setdefault(position, []).extend(these)
        ranks.update(judgement.ranks)
    for position, check in enumerate(RULES):
        if check.scope == "join":
            assert check.join is not None
            found.extend(check.join(links, library))
        elif check.scope == "settings":
            found.extend(settings_found.get(position, ()))
        elif check.dated is not None:
            dated: list[Dated] = by_rule.get(position, [])  # type: ignore[assignment]
            found.extend(item.found for item in dated if item.on(today))
        elif check.by_audience:
            # Stable: in article order within an audience.
            found.extend(sorted(by_rule.get(position, ()), key=lambda d: ranks.get(d.file, 0)))
        else:
            found.extend(by_rule.get(position, ()))
    return found


def audience_ranks(project: Project) -> dict[str, int]:
    """For a `by_audience` rule: each body file's audience's place in the settings. Not its
    place among the audiences present: a few articles judged alone may lack one, and their
    findings must still sort as those of the whole publication do."""
    if project.settings is None:
        return {}
    place = {audience.id: index for index, audience in enumerate(project.settings.audiences)}
    ranks: dict[str, int] = {}
    for _article, body, audience in readability_targets(project):
        ranks.setdefault(body.file, place[audience.id])
    return ranks


_FINDINGS = "findings-pack"


def _files_of(article: Article) -> list[str]:
    """The source files an article's own findings come from: its file and its variants'."""
    return list(dict.fromkeys([article.file, *(b.file for b in article.bodies.values())]))


def _findings(
    project: Project,
    rule_name: str,
    files: list[str],
    extra: tuple[str, ...],
    judge: Callable[[Any], Iterator[Diagnostic]],
    subject: Any,
) -> list[Diagnostic]:
    """What a rule that reads only these files finds in `subject`: from the parse cache when
    their bytes (and the code) are unchanged, so a warm check runs only the rules that join
    files. A file that was not read, or a run without the cache, is judged afresh."""
    pack = project.memo.get(_FINDINGS)
    parts = [project.source_keys.get(file) for file in files]
    if pack is None or any(part is None for part in parts):
        return list(judge(subject))
    key = cache.entry_key("findings", rule_name, *extra, *(p for p in parts if p is not None))
    blob = pack.get(key)
    if blob is not None:
        try:
            return cache.load(blob)  # type: ignore[return-value]
        except Exception:  # noqa: BLE001 - an entry this code cannot read: judge again
            pass
    found = list(judge(subject))
    pack.put(key, cache.dump(found))
    return found


def _fingerprint_key(project: Project, article: Article) -> bytes | None:
    """The key of an article's content fingerprint, a pure function of what it is made of: the
    parse keys of its files (main and audience variants, by audience) and, for each cited key,
    the parse key of the reference file that defines it (the first, as `Library.get` finds it).
    None when a file was not read through the parse cache."""
    keys = project.source_keys
    main = keys.get(article.file)
    if main is None or article.revision is not None or article.library is not None:
        return None
    parts: list[bytes | str] = ["fingerprint", article.id, article.file, main]
    for audience, body in sorted(article.bodies.items()):
        part = keys.get(body.file)
        if part is None:
            return None
        parts += [audience, body.file, part]
    for cited in sorted(article.cited_keys()):
        reference = project.library.get(cited)
        parts.append(cited)
        if reference is None:
            parts.append("\0none")
            continue
        part = keys.get(reference.file)
        if part is None:
            return None
        parts += [reference.file, part]
    return cache.entry_key(*parts)


def _recall_fingerprints(project: Project) -> None:
    """Each valid article's content fingerprint, from the parse cache when the files it is made
    of are unchanged, made known to `approval_state` for this run."""
    from pipeline.fingerprint import fingerprint

    where = project.cache_folder
    if where is None or not project.source_keys:
        return
    pack = cache.Pack(where, "fingerprints")
    for article in _valid_articles(project):
        key = _fingerprint_key(project, article)
        if key is None:
            continue
        blob = pack.get(key)
        if blob is None:
            blob = fingerprint(article, project.library).encode("ascii")
            pack.put(key, blob)
        project.memo[FINGERPRINT_MEMO.format(article.id)] = blob.decode("ascii")
    pack.save()
