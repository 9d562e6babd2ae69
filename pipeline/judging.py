"""A whole check on every core, each article judged in the process that parsed it.

A check that judges every article of a large publication (pipeline/checkcache.py, a first
run or one after the references or the settings changed) parses the reference files first,
on every core (`loader._parse_all`), so that the library is known. The articles are then cut
into one share per core, in article order. A forked copy of this process parses each share
(from the parse cache where it can), verifies its signatures and runs the article rules on
it (`checks.judge_part`); this process does the same with a smaller share and works out the
library's facts meanwhile. Each share hands back only what a check keeps of an article (its
judgement, as `checkcache` keeps it) and the parse cache entries it made: no article is
unpickled or held anywhere but where it was parsed."""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass
from functools import partial
from typing import TYPE_CHECKING

from pipeline import cache, checkcache, checks, loader, paths, readability, signing
from pipeline.references import Library, combine

if TYPE_CHECKING:
    from pipeline.diagnostics import Diagnostic

# From this many articles on, a whole check is judged on every core.
PARALLEL_JUDGE = 1_000
# The share of this process, against a forked copy's: it also works out the library's facts
# and reads what the copies hand back (measured at 10,000 articles on 2 cores).
_OWN_SHARE = 0.83

# One source file to make something of: its source, its bytes (None: unreadable, with the
# problems of reading it), its parse key and its parse cache entry, if there is one.
_File = tuple[paths.SourceFile, bytes | None, list["Diagnostic"], bytes | None, bytes | None]


@dataclass(frozen=True)
class Judged:
    """Each article's judgement as `checkcache.kept_judgement` made it (by id, in article
    order), what the rules of scope "settings" found, and the library's facts and references."""

    kept: dict[str, bytes]
    settings_found: dict[int, list[Diagnostic]]
    facts: checks.LibraryFacts
    references: dict[str, bytes]  # the library's, as `checkcache.kept_references` made them


@dataclass(frozen=True)
class _Context:
    """What every share is judged with (inherited by the forked copies, never pickled)."""

    surveyed: loader.Survey
    keys: dict[str, bytes]  # every source file's parse key
    library: Library
    policy: object


def can_judge_on_cores(surveyed: loader.Survey) -> bool:
    """Whether a whole check of this publication is judged on every core."""
    cores = os.cpu_count() or 1
    return sys.platform == "linux" and cores >= 2 and len(surveyed.mains) >= PARALLEL_JUDGE


def judge_on_cores(surveyed: loader.Survey, keys: dict[str, bytes]) -> Judged | None:
    """Every article of the surveyed publication judged, on every core, with the parse cache
    of `surveyed.where` (read and written once, here). `keys` holds the parse key of every
    source file read so far and gets the others'. None when a rule reported on a file of no
    article (the caller judges the whole load instead)."""
    settings, board, where = surveyed.settings, surveyed.board, surveyed.where
    assert settings is not None and board is not None and where is not None
    evidence = list(settings.review.evidence_sections)
    sources = cache.Pack(where, "sources")
    verdicts = loader._recall_verdicts(where)  # known to every share: inherited
    read, surveyed.read = surveyed.read, {}
    bibs = loader._parse_all(
        surveyed.root, surveyed.bibs, evidence, settings, board, where, keys, read, False, sources
    )
    library = combine(bibs)
    files = _files(surveyed, evidence, keys, read, sources)
    policy = loader._policy_facts(settings, surveyed.settings_yaml.get(paths.PUBLICATION_FILE))
    context = _Context(surveyed, keys, library, policy)
    shares = _shares(files, os.cpu_count() or 1)
    if any(file[4] is None for these in files for file in these):
        readability.prepare()  # new texts to measure, in every share
    with cache.collecting() as saves:
        copies = [checks.Forked(partial(_judge_share, context, share)) for share in shares[1:]]
        try:
            made = [_judge_share(context, shares[0])]
            facts = checks.judge_library(_project(context, {}, {}))
            references = checkcache.kept_references(library)
        finally:
            handed = [copy.result() for copy in copies]  # every copy waited for, always
    parts = [saves]
    for share, back in zip(shares[1:], handed, strict=True):
        if back is None:  # the copy failed: its share is judged here
            with cache.collecting() as again:
                back = (_judge_share(context, share), again)
        made.append(back[0])
        parts.append(back[1])
    cache.write_collected(*parts)
    if any(part is None for part in made):
        return None
    kept: dict[str, bytes] = {}
    used: dict[bytes, signing.Verdict] = {}
    for share_kept, _settings_found, entries, share_verdicts in made:  # type: ignore[misc]
        kept.update(share_kept)
        used.update(share_verdicts)
        for key, blob in entries.items():
            sources.put(key, blob)
    sources.save()
    signing.remember(used)
    loader._keep_verdicts(verdicts, used)
    return Judged(kept, made[0][1], facts, references)  # type: ignore[index]


def _files(
    surveyed: loader.Survey,
    evidence: list[str],
    keys: dict[str, bytes],
    read: dict[str, tuple[bytes | None, list[Diagnostic], bytes | None]],
    sources: cache.Pack,
) -> list[list[_File]]:
    """Each article's files (its main file, then its variants), in article order, with their
    bytes as read (by the caller, or now) and their parse cache entries."""
    variants: dict[str, list[paths.SourceFile]] = {}
    for variant in surveyed.variants:
        variants.setdefault(variant.article_id or "", []).append(variant)
    folders: set[str] = set()
    articles = []
    for main in surveyed.mains:
        these: list[_File] = []
        for source in [main, *variants.get(main.article_id or "", ())]:
            known = read.pop(source.path, None)
            if known is not None:
                data, found, key = known
            else:
                data, found = paths.read_source_bytes(surveyed.root, source.path, folders)
                key = None
            if data is not None:
                key = key or cache.parse_key(source, data, evidence)
                keys[source.path] = key
            blob = sources.get(key) if key is not None else None
            these.append((source, data, found, key, blob))
        articles.append(these)
    return articles


def _shares(files: list[list[_File]], cores: int) -> list[list[list[_File]]]:
    """The articles cut into one run per process, in order: this process' first and smaller."""
    cores = max(1, min(cores, 8))
    own = round(len(files) * _OWN_SHARE / (_OWN_SHARE + cores - 1))
    rest = len(files) - own
    cuts = [0, own, *(own + rest * i // (cores - 1) for i in range(1, cores))]
    return [files[cuts[i] : cuts[i + 1]] for i in range(len(cuts) - 1)]


def _project(
    context: _Context,
    articles: dict[str, loader.Article],
    by_file: dict[str, dict[str, list[Diagnostic]]],
) -> loader.Project:
    surveyed = context.surveyed
    assert surveyed.where is not None
    return loader.Project(
        root=surveyed.root,
        settings=surveyed.settings,
        board=surveyed.board,
        articles=articles,
        library=context.library,
        diagnostics=[],
        today=surveyed.today,
        settings_yaml=surveyed.settings_yaml,
        policy=context.policy,  # type: ignore[arg-type]
        cache_folder=surveyed.where,
        source_keys=context.keys,
        source_findings=by_file,
    )


def _judge_share(
    context: _Context, share: list[list[_File]]
) -> (
    tuple[
        dict[str, bytes],
        dict[int, list[Diagnostic]],
        dict[bytes, bytes],
        dict[bytes, signing.Verdict],
    ]
    | None
):
    """One share parsed (each file from its parse cache entry when it has one) and judged:
    each article's kept judgement, what the settings rules found, the parse cache entries
    made, and the verdicts on the signatures asked for. None as `checks.judge_part`."""
    surveyed = context.surveyed
    settings, board = surveyed.settings, surveyed.board
    assert settings is not None
    evidence = list(settings.review.evidence_sections)
    signing.forget_use()
    mains = [files[0][0] for files in share]
    variants = [file[0] for files in share for file in files[1:]]
    results: dict[str, object] = {}
    made: dict[bytes, bytes] = {}
    for source, data, found, key, blob in (file for files in share for file in files):
        if data is None or key is None:
            results[source.path] = loader._unread(source, found)
            continue
        if blob is not None:
            try:
                results[source.path] = cache.load(blob)
                continue
            except Exception:  # noqa: BLE001 - an entry this code cannot read: parse again
                pass
        result = loader._parse(source, data, evidence, html=False)
        results[source.path] = result
        made[key] = cache.dump(result)
    loaded = [results[source.path] for source in [*mains, *variants]]
    by_file: dict[str, dict[str, list[Diagnostic]]] = {}
    default = settings.default_audience.id
    articles = loader._assemble(loaded, mains, variants, default, [], by_file)
    loader._verify_reviews(settings, board, list(articles.values()))
    judged = checks.judge_part(_project(context, articles, by_file))
    if judged is None:
        return None
    kept = {
        article_id: checkcache.kept_judgement(judgement)
        for article_id, judgement in judged[0].items()
    }
    return kept, judged[1], made, signing.known_verdicts(used_only=True)
