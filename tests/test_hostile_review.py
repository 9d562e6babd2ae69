"""`pipeline review` on any front matter layout: a correct edit of `status` and `reviews` with
every other byte kept, or a one-line refusal with exit 1; never a silent no-op or a lost
record."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pipeline.loader import compose_yaml, parse_yaml, split_front_matter
from pipeline.review import ReviewRefused, edit_front_matter
from tests.conftest import review_cli, run_cli, snapshot, write

RECORD = {
    "reviewer": "asmith",
    "decision": "approved",
    "date": dt.date(2026, 1, 5),
    "fingerprint": "sha256:" + "ab" * 32,
    "note": "Looks right: clear # and complete",
}
OLD = {"reviewer": "bjones", "decision": "changes_requested", "date": dt.date(2026, 1, 2)}
OLD_FLOW = "{reviewer: bjones, decision: changes_requested, date: 2026-01-02}"


def fields(path: Path) -> dict:
    text = path.read_bytes().decode("utf-8").removeprefix("\ufeff")
    front, _, _ = split_front_matter(text.replace("\r\n", "\n").replace("\r", "\n"))
    assert front is not None
    return parse_yaml(front, 2).data


def edited(tmp_path: Path, text: str, record: dict | None = RECORD) -> tuple[bytes, dict]:
    path = tmp_path / "a.md"
    path.write_bytes(text.encode("utf-8"))
    edit_front_matter(path, "approved", record)
    return path.read_bytes(), fields(path)


LAYOUTS = {
    "flow mapping": "---\n{title: T, status: under_review}\n---\nBody\n",
    "flow mapping with reviews": (
        f"---\n{{title: T, status: under_review, reviews: [{OLD_FLOW}]}}\n---\nB\n"
    ),
    "anchored status": "---\ntitle: T\nstatus: &s under_review\n---\nBody\n",
    "tagged status": "---\ntitle: T\nstatus: !!str under_review\n---\nBody\n",
    "value on the next line": "---\ntitle: T\nstatus:\n  under_review\ntags: [a]\n---\nBody\n",
    "quoted key": "---\ntitle: T\n\"status\": 'under_review'\n---\nBody\n",
    "tab after status": "---\ntitle: T\nstatus:\tunder_review\n---\nBody\n",
    "flow reviews": f"---\nstatus: under_review\nreviews: [{OLD_FLOW}]\ntags: [a]\n---\nB\n",
    "flow reviews, trailing comma": (
        f"---\nstatus: under_review\nreviews: [\n  {OLD_FLOW},\n]\n---\nB\n"
    ),
    "empty flow reviews": "---\nstatus: under_review\nreviews: []\ntags: [a]\n---\nB\n",
    "null reviews": "---\nstatus: under_review\nreviews:\ntags: [a]\n---\nB\n",
    "tilde reviews": "---\nstatus: under_review\nreviews: ~  # none yet\ntags: [a]\n---\nB\n",
    "indentless block reviews": (
        "---\nstatus: under_review\nreviews:\n- reviewer: bjones\n  decision: changes_requested\n"
        "  date: 2026-01-02\n# trailing comment\ntags: [a]\n---\nB\n"
    ),
    "deep block reviews": (
        "---\nstatus: under_review\nreviews:\n    -   reviewer: bjones\n        decision: "
        "changes_requested\n        date: 2026-01-02\n\n\n---\nB\n"
    ),
    "no status": "---\ntitle: T\n---\nBody\n",
}


@pytest.mark.parametrize("layout", list(LAYOUTS), ids=list(LAYOUTS))
def test_every_layout_is_edited_correctly(tmp_path: Path, layout: str) -> None:
    text = LAYOUTS[layout]
    _, data = edited(tmp_path, text)
    assert data["status"] == "approved"
    old = [OLD] if "bjones" in text else []
    assert data["reviews"] == [*old, RECORD]


def test_start_without_a_record(tmp_path: Path) -> None:
    _, data = edited(
        tmp_path, LAYOUTS["anchored status"].replace("under_review", "submitted"), None
    )
    assert data["status"] == "approved" and "reviews" not in data


def test_mixed_line_endings_and_a_bom_are_kept(tmp_path: Path) -> None:
    text = "\ufeff---\r\ntitle: T\nstatus: under_review\r\ntags: [a]\r\n---\nBody\r\nmore\n"
    data, parsed = edited(tmp_path, text)
    assert data.startswith(b"\xef\xbb\xbf---\r\ntitle: T\nstatus: approved\r\n")
    assert data.endswith(b"---\nBody\r\nmore\n")
    assert parsed["reviews"] == [RECORD]
    added = data.split(b"tags: [a]\r\n")[1].split(b"---\n")[0]
    assert added.count(b"\r\n") == added.count(b"\n") > 0  # new lines take their neighbours'


@pytest.mark.parametrize(
    ("text", "needle"),
    [
        ("---\nstatus: under_review\ntitle: T\nstatus: submitted\n---\nB\n", "lines 2 and 4"),
        ("---\nstatus: &s under_review\nother: *s\n---\nB\n", "alias"),
        ("---\nstatus: under_review\nreviews: {a: 1}\n---\nB\n", "not a list"),
        ("---\nstatus: [a]\n---\nB\n", "single word"),
        ("---\n- a\n---\nB\n", "mapping"),
        ("no front matter\n", "no front matter"),
        ("---\nstatus: under_review\n", "no end"),
        ("---\nstatus: 2026-02-30\n---\n", "real date"),
        (
            "---\nstatus: under_review\nreviews:\n  - reviewer: x\n    note: |+\n"
            "      kept\n\n\n---\nB\n",
            "cannot edit",
        ),
    ],
)
def test_layouts_it_cannot_edit_are_refused_untouched(
    tmp_path: Path, text: str, needle: str
) -> None:
    path = tmp_path / "a.md"
    path.write_bytes(text.encode())
    with pytest.raises(ReviewRefused) as refused:
        edit_front_matter(path, "approved", RECORD)
    assert needle in str(refused.value) and "\n" not in str(refused.value)
    assert path.read_bytes() == text.encode()


@pytest.mark.parametrize(
    "note", ["bad \x01 byte", "bad \x1b[31m escape", "half \udcff surrogate", "x" * 2001]
)
def test_notes_are_validated_like_fields(tmp_path: Path, note: str) -> None:
    path = tmp_path / "a.md"
    path.write_bytes(LAYOUTS["anchored status"].encode())
    with pytest.raises(ReviewRefused):
        edit_front_matter(path, "approved", {**RECORD, "note": note})
    assert path.read_bytes() == LAYOUTS["anchored status"].encode()


ODD = "content/infectious-disease/odd-format.md"
FLOW_ARTICLE = """---
{question: "Which antibiotic for acute cystitis?", title: Acute cystitis, authors: [mroe],
 status: under_review, last_updated: 2026-10-12, tags: [primary care], related: []}
---
Treat with nitrofurantoin [@idsa-escmid-cystitis-2011].
"""


def test_the_cli_edits_flow_front_matter(publication: Path) -> None:
    write(publication, ODD, FLOW_ARTICLE)
    run = review_cli(publication, "approve", "infectious-disease/odd-format", "cnguyen")
    assert run.exit_code == 0, run.stderr
    data = fields(publication / ODD)
    assert data["status"] == "approved" and data["reviews"][0]["reviewer"] == "cnguyen"
    assert run_cli(publication, "check").exit_code == 0


@pytest.mark.parametrize("note", ["\x01", "\udcff"])
def test_the_cli_refuses_a_bad_note_in_one_line(publication: Path, note: str) -> None:
    write(publication, ODD, FLOW_ARTICLE)
    before = snapshot(publication)
    run = review_cli(
        publication, "approve", "infectious-disease/odd-format", "cnguyen", "--note", note
    )
    assert run.exit_code == 1 and run.stderr.count("\n") == 1 and "note" in run.stderr
    assert snapshot(publication) == before


def test_the_cli_refuses_duplicate_keys_in_one_line(publication: Path) -> None:
    write(publication, ODD, FLOW_ARTICLE.replace("related: []}", "related: [], status: x}"))
    run = review_cli(publication, "approve", "infectious-disease/odd-format", "cnguyen")
    assert run.exit_code == 1 and run.stderr.count("\n") == 1 and "twice" in run.stderr


# --- property: random layouts of a valid front matter -----------------------------------


_newline = st.sampled_from(["\n", "\r\n"])
_comment = st.sampled_from(["", "  # note", " #x"])


@st.composite
def front_matters(draw: st.DrawFn) -> tuple[str, bool]:
    """(article text, whether it already has a review) in a random but valid layout."""
    flow_root = draw(st.booleans())
    status_style = draw(st.sampled_from(["plain", "quoted", "anchor", "next line", "tag"]))
    reviews_style = draw(st.sampled_from(["absent", "empty flow", "null", "flow", "block"]))
    status_value = {
        "plain": "under_review",
        "quoted": '"under_review"',
        "anchor": "&st under_review",
        "next line": "\n    under_review",
        "tag": "!!str under_review",
    }[status_style]
    key = draw(st.sampled_from(["status", '"status"', "'status'"]))
    reviews = {
        "absent": None,
        "empty flow": "[]",
        "null": "",
        "flow": f"[{OLD_FLOW}]",
        "block": ("\n  - reviewer: bjones\n    decision: changes_requested\n    date: 2026-01-02"),
    }[reviews_style]
    if flow_root:
        if status_style == "next line":
            status_value = "under_review"
        parts = ["title: T", f"{key}: {status_value}", "tags: [a, b]"]
        if reviews is not None:
            parts.append(f"reviews: {reviews if reviews_style != 'block' else '[]'}")
        order = draw(st.permutations(parts))
        lines = ["{" + ", ".join(order) + "}"]
    else:
        lines = [f"title: T{draw(_comment)}", f"{key}: {status_value}{draw(_comment)}"]
        if reviews is not None:
            lines.append(f"reviews: {reviews}" if reviews else "reviews:")
        lines.append("tags: [a, b]")
        order = draw(st.permutations(lines))
        if draw(st.booleans()):
            order = [*order, "# the end"]
        lines = order
    chunks = "\n".join(lines).split("\n")
    newlines = [draw(_newline) for _ in range(len(chunks) + 3)]
    body = "---" + newlines[0] + "".join(c + n for c, n in zip(chunks, newlines[1:], strict=False))
    text = body + "---" + newlines[-1] + "Body [@k]." + newlines[-2]
    bom = "\ufeff" if draw(st.booleans()) else ""
    return bom + text, reviews_style in ("flow", "block") and not (
        flow_root and reviews_style == "block"
    )


def _status_span(text: str) -> tuple[int, int]:
    text = text.removeprefix("\ufeff")
    start = text.index("\n") + 1
    end = text.index("---", start)
    node = compose_yaml(text[start:end])
    value = next(v for k, v in node.value if k.value == "status")
    return start + value.start_mark.index, start + value.end_mark.index


@settings(
    max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(case=front_matters(), with_record=st.booleans())
def test_random_layouts_are_edited_exactly_or_refused(
    tmp_path_factory: pytest.TempPathFactory, case: tuple[str, bool], with_record: bool
) -> None:
    text, has_review = case
    path = tmp_path_factory.mktemp("review") / "a.md"
    path.write_bytes(text.encode("utf-8"))
    record = RECORD if with_record else None
    try:
        edit_front_matter(path, "approved", record)
    except ReviewRefused:
        assert path.read_bytes() == text.encode("utf-8")
        return
    after = path.read_bytes().decode("utf-8")
    data = fields(path)
    assert data["status"] == "approved"
    expected_reviews = ([OLD] if has_review else []) + ([RECORD] if record else [])
    assert (data.get("reviews") or []) == expected_reviews
    assert data["title"] == "T" and data["tags"] == ["a", "b"]
    # Apart from the status word, the edit only inserts: the old text, status replaced, is a
    # subsequence of the new one.
    bom = len(text) - len(text.removeprefix("\ufeff"))
    low, high = (bom + i for i in _status_span(text))
    token = text[low:high]
    prefix = re.match(r"(?:[&!]\S*\s+)*", token).group()
    quote = token[len(prefix)] if token[len(prefix)] in "'\"" else ""
    expected = text[:low] + prefix + quote + "approved" + quote + text[high:]
    assert _is_subsequence(expected, after)


def _is_subsequence(small: str, big: str) -> bool:
    chars = iter(big)
    return all(c in chars for c in small)
