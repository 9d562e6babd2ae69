"""Generates a valid synthetic publication: N articles over several topics, M references.

Half of the articles are approved with fingerprints computed by the pipeline, so that checks and
builds do the same work as on a real publication.

    python benchmarks/generate.py OUT --articles 10000 --references 20000
"""

from __future__ import annotations

import argparse
import random
import shutil
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
WORDS = (
    "assess confirm start review dose adjust monitor refer screen stage treat measure avoid "
    "consider prefer repeat combine reduce escalate continue stop document explain"
).split()


def _sentence(rng: random.Random, n: int = 12) -> str:
    return " ".join(rng.choice(WORDS) for _ in range(n)).capitalize()


def reference(i: int) -> str:
    return (
        f"@article{{ref-{i:06d},\n"
        f"  author = {{Author{i}, Alex and Writer{i}, Sam}},\n"
        f"  title = {{Synthetic study number {i} of a clinical question}},\n"
        f"  journal = {{Journal of Synthetic Medicine}},\n"
        f"  year = {{{1990 + i % 35}}},\n  volume = {{{i % 90 + 1}}},\n"
        f"  pages = {{{i % 500 + 1}--{i % 500 + 9}}},\n  doi = {{10.5555/synthetic.{i}}},\n}}\n"
    )


def article(i: int, topic: str, refs: int, rng: random.Random, related: str | None) -> str:
    keys = [f"ref-{(2 * i) % refs:06d}", f"ref-{(2 * i + 1) % refs:06d}"]
    keys += [f"ref-{rng.randrange(refs):06d}" for _ in range(3)]
    bullets = "\n".join(f"- {_sentence(rng)} [@{k}]." for k in keys)
    related_line = f"related: [{related}]\n" if related else ""
    return (
        f"---\nquestion: What is the approach to synthetic question {i}?\n"
        f"title: Synthetic article {i}\nauthors: [jdoe]\nstatus: under_review\n"
        f"last_updated: 2026-01-{i % 28 + 1:02d}\ntags: [{topic}, tag-{i % 40}]\n"
        f"{related_line}---\n"
        f"{_sentence(rng, 30)} [@{keys[0]}; @{keys[1]}].\n\n## Recommendations\n{bullets}\n\n"
        f"## Common pitfalls and caveats\n- {_sentence(rng)} [@{keys[2]}].\n"
    )


def generate(
    out: Path,
    articles: int,
    references: int,
    approved_share: float = 0.5,
    seed: int = 7,
    topics: int | None = None,
) -> Path:
    """`topics`: how many topics (each one an entry of every page's nav); by default one per
    200 articles, so that the nav grows with the publication."""
    rng = random.Random(seed)
    if out.exists():
        shutil.rmtree(out)
    (out / "content").mkdir(parents=True)
    (out / "references").mkdir()
    for name in ("publication.yml", "board.yml"):
        shutil.copy(REPO / "content" / name, out / "content" / name)
    shutil.copy(REPO / "mkdocs.yml", out / "mkdocs.yml")
    (out / "pipeline").symlink_to(REPO / "pipeline", target_is_directory=True)
    per_file = 2000
    for start in range(0, references, per_file):
        text = "".join(reference(i) for i in range(start, min(start + per_file, references)))
        (out / "references" / f"library-{start // per_file:03d}.bib").write_text(text)
    topics = [f"topic-{t:02d}" for t in range(topics or max(1, articles // 200))]
    for i in range(articles):
        topic = topics[i % len(topics)]
        related = (
            f"{topics[(i + 1) % len(topics)]}/article-{i + 1:05d}" if i + 1 < articles else None
        )
        path = out / "content" / topic / f"article-{i:05d}.md"
        path.parent.mkdir(exist_ok=True)
        path.write_text(article(i, topic, references, rng, related))
        if i % 3 == 0:
            (out / "content" / topic / f"article-{i:05d}.patient.md").write_text(
                f"{_sentence(rng, 20)} [@ref-{(2 * i) % references:06d}].\n"
            )
    step = 1 if approved_share >= 1 else 2
    chosen = [f"{topics[i % len(topics)]}/article-{i:05d}" for i in range(0, articles, step)]
    _approve(out, chosen[: int(articles * approved_share)])
    return out


def ssh_sign(private_key_file: Path, message: bytes, namespace: str) -> str:
    """An SSHSIG signature made in-process, byte for byte what `ssh-keygen -Y sign` makes with an
    Ed25519 key: ssh-keygen costs a process per signature, too slow for 10,000 approvals."""
    import base64
    import hashlib

    from cryptography.hazmat.primitives import serialization

    def string(value: bytes) -> bytes:
        return len(value).to_bytes(4, "big") + value

    key = serialization.load_ssh_private_key(private_key_file.read_bytes(), password=None)
    public = key.public_key().public_bytes(
        serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH
    )
    blob = base64.b64decode(public.split()[1])
    digest = hashlib.sha512(message).digest()
    signed = b"SSHSIG" + string(namespace.encode()) + string(b"") + string(b"sha512")
    signature = key.sign(signed + string(digest))
    body = (
        b"SSHSIG"
        + (1).to_bytes(4, "big")
        + string(blob)
        + string(namespace.encode())
        + string(b"")
        + string(b"sha512")
        + string(string(b"ssh-ed25519") + string(signature))
    )
    return base64.b64encode(body).decode("ascii")


def _approve(root: Path, article_ids: list[str]) -> None:
    """Write signed approvals straight into the files (by the example reviewer asmith and the
    example key): the review command re-checks the whole publication per call, which is right
    for editors and too slow for 10,000 articles."""
    import datetime as dt

    from pipeline.approval import approval_state
    from pipeline.fingerprint import SCHEME
    from pipeline.loader import load
    from pipeline.review import edit_front_matter
    from pipeline.signing import NAMESPACE, review_statement

    project = load(root)
    key = REPO / "examples" / "keys" / "asmith"
    for article_id in article_ids:
        article = project.article(article_id)
        state = approval_state(project, article)
        record = {
            "reviewer": "asmith",
            "decision": "approved",
            "date": dt.datetime(2026, 2, 1, 9, 30, tzinfo=dt.UTC),
            "fingerprint": state.fingerprint,
            "note": None,
        }
        statement = review_statement(project.settings.publication_id, article_id, record, SCHEME)
        record["signature"] = ssh_sign(key, statement, NAMESPACE)
        edit_front_matter(root / article.file, "approved", record)


def generate_apart(
    out: Path,
    articles: int,
    references: int,
    approved_share: float = 0.5,
    topics: int | None = None,
) -> Path:
    """`generate` in a process of its own. A process started from one that holds a large
    publication reports that process's memory as its own peak (Linux carries the resident
    high-water mark across fork and exec), so the benchmarks never generate in-process."""
    import multiprocessing

    context = multiprocessing.get_context("spawn")
    process = context.Process(
        target=generate, args=(out, articles, references, approved_share), kwargs={"topics": topics}
    )
    process.start()
    process.join()
    if process.exitcode != 0:
        raise SystemExit(f"generating {articles} articles into {out} failed")
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path)
    parser.add_argument("--articles", type=int, default=1000)
    parser.add_argument("--references", type=int, default=2000)
    parser.add_argument("--topics", type=int, help="Default: one per 200 articles.")
    args = parser.parse_args()
    generate(args.out, args.articles, args.references, topics=args.topics)
    print(f"generated {args.articles} articles and {args.references} references in {args.out}")


if __name__ == "__main__":
    main()
