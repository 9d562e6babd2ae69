"""The untouched `pipeline new` template fails check, at each line that still holds it."""

from __future__ import annotations

from pathlib import Path

from tests.conftest import line_of, replace_in, run_cli

NEW = "content/cardiology/new-topic.md"


def _codes(run) -> list[tuple[str, str, int | None]]:  # noqa: ANN001 - a conftest.Run
    return [(d["code"], d["file"], d["line"]) for d in run.json()["errors"]]


def test_the_untouched_template_fails_check_at_every_template_line(publication: Path) -> None:
    assert run_cli(publication, "new", "cardiology/new-topic", "--author", "mroe").exit_code == 0
    run = run_cli(publication, "check", "--format", "json")
    assert run.exit_code == 1
    found = [(f, line) for code, f, line in _codes(run) if code == "content.placeholder"]
    expected = [
        line_of(publication, NEW, "question: TODO"),
        line_of(publication, NEW, "title: TODO"),
        line_of(publication, NEW, "tags: [TODO]"),
        line_of(publication, NEW, "TODO One-paragraph"),
        line_of(publication, NEW, "- TODO One recommendation"),
    ]
    assert sorted(found) == [(NEW, line) for line in sorted(expected)]
    message = next(d["message"] for d in run.json()["errors"] if d["code"] == "content.placeholder")
    assert "`pipeline new` template" in message and "replace it" in message


def test_deleting_only_the_word_todo_is_not_enough(publication: Path) -> None:
    run_cli(publication, "new", "cardiology/new-topic", "--author", "mroe")
    text = (publication / NEW).read_text().replace("TODO ", "").replace("[TODO]", "[af]")
    (publication / NEW).write_text(text)
    found = [line for code, f, line in _codes(run_cli(publication, "check", "--format", "json"))]
    assert line_of(publication, NEW, "question: What clinical question") in found
    assert line_of(publication, NEW, "- One recommendation per bullet") in found


def test_a_filled_in_article_passes(publication: Path) -> None:
    run_cli(publication, "new", "cardiology/new-topic", "--author", "mroe")
    path = publication / NEW
    text = path.read_text()
    for old, new in [
        ("TODO What clinical question does this article answer?", "When is a statin indicated?"),
        ("TODO Title of the article", "Statins in primary prevention"),
        ("[TODO]", "[statins]"),
        ("TODO One-paragraph answer to the question, citing its sources like this", "Often"),
        ("TODO One recommendation per bullet, each with a citation", "Assess the risk"),
        ("# Fill in every field marked TODO, then run `pipeline check`.\n", ""),
    ]:
        text = text.replace(old, new)
    path.write_text(text)
    codes = [c for c, _, _ in _codes(run_cli(publication, "check", "--format", "json"))]
    assert "content.placeholder" not in codes


def test_todo_in_an_existing_article_body_is_reported(publication: Path) -> None:
    rel = "content/cardiology/hypertension-initial-therapy.patient.md"
    replace_in(publication, rel, "kidneys or heart", "kidneys or heart TODO check dose")
    run = run_cli(publication, "check", "--format", "json")
    assert ("content.placeholder", rel, line_of(publication, rel, "TODO check")) in _codes(run)
