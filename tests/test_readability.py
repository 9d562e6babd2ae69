"""Plain language: an audience's `readability_grade` is checked on the text a reader sees, with
textstat offline; above it is `readability.grade` (a warning, or an error where the publication
says so) naming the grade and the longest sentences."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from pipeline.readability import measure, visible_sentences
from tests.conftest import REPO, line_of, replace_in, run_cli

PATIENT = "content/infectious-disease/acute-cystitis.patient.md"
SETTINGS = "content/publication.yml"
TARGET = "    readability_grade: 8\n"

HARD = (
    "- Pharmacological management of uncomplicated lower urinary tract infection "
    "necessitates consideration of antimicrobial resistance epidemiology, individual "
    "contraindications, renal function, pregnancy status and previous antimicrobial "
    "exposure, consequently individualised therapeutic determinations, documented "
    "comprehensively alongside microbiological investigations and longitudinal "
    "surveillance of antimicrobial stewardship indicators, are indispensable "
    "[@idsa-escmid-cystitis-2011].\n"
)


def _make_hard(root: Path) -> int:
    text = (root / PATIENT).read_text(encoding="utf-8")
    first_bullet = text.index("\n- ") + 1
    (root / PATIENT).write_text(text[:first_bullet] + HARD + text[first_bullet:], "utf-8")
    return line_of(root, PATIENT, "Pharmacological management")


def test_only_what_a_reader_reads_is_measured() -> None:
    body = (
        "Intro text here [@a; @b] with a [link](https://example.org/very-long-address).\n\n"
        "## A heading with no full stop\n"
        "- A bullet without a full stop\n"
        "- Second bullet. It has two sentences!\n\n"
        "| Drug | Dose |\n|---|---|\n| Nitrofurantoin | 100 mg |\n\n"
        "```\ncode is not read\n```\n"
    )
    sentences = visible_sentences(body, 10)
    assert [(s.line, s.text) for s in sentences] == [
        (10, "Intro text here with a link."),
        (13, "A bullet without a full stop"),
        (14, "Second bullet."),
        (14, "It has two sentences!"),
    ]


def test_a_sentence_is_found_on_its_own_line() -> None:
    body = "First short one. Second one\ncontinues here. Third\non a later line.\n"
    assert [s.line for s in visible_sentences(body, 5)] == [5, 5, 6]


def test_plain_words_score_lower_than_jargon() -> None:
    plain = measure("Take one pill a day. Drink water. Rest at home.\n")
    hard = measure(HARD)
    assert plain is not None and hard is not None
    assert plain.grade < 4 < 12 < hard.grade
    assert measure("## Only a heading\n") is None


def test_a_hard_patient_wording_is_a_warning_with_its_grade_and_longest_sentences(
    publication: Path,
) -> None:
    line = _make_hard(publication)
    run = run_cli(publication, "check", "--format", "json")
    found = [d for d in run.json()["warnings"] if d["code"] == "readability.grade"]
    assert [(d["file"], d["line"], d["severity"]) for d in found] == [(PATIENT, line, "warning")]
    message = found[0]["message"]
    assert "Flesch-Kincaid grade" in message and "target of 8" in message
    assert f"line {line} (" in message and "words: 'Pharmacological management" in message
    assert "readability.grade" not in {d["code"] for d in run.json()["errors"]}
    assert run.exit_code == 0  # a warning does not fail the check


def test_the_publication_can_make_it_an_error(publication: Path) -> None:
    _make_hard(publication)
    replace_in(publication, SETTINGS, TARGET, TARGET + "    readability_severity: error\n")
    run = run_cli(publication, "check", "--format", "json")
    assert run.exit_code == 1
    assert [d["severity"] for d in run.json()["errors"] if d["code"] == "readability.grade"] == [
        "error"
    ]
    text = run_cli(publication, "check").output
    assert f"{PATIENT}:" in text and "error [readability.grade]" in text


def test_no_target_no_measure(publication: Path) -> None:
    _make_hard(publication)
    replace_in(publication, SETTINGS, TARGET, "")
    run = run_cli(publication, "check", "--format", "json")
    assert "readability.grade" not in {d["code"] for d in run.json()["warnings"]}
    rows = run_cli(publication, "status", "--format", "json").json()["articles"]
    assert not any("readability" in row for row in rows)


def test_a_target_that_is_not_a_number_is_a_settings_error(publication: Path) -> None:
    replace_in(publication, SETTINGS, TARGET, "    readability_grade: eight\n")
    run = run_cli(publication, "check", "--format", "json")
    assert run.exit_code == 1
    assert [(d["code"], d["file"]) for d in run.json()["errors"]] == [("config.schema", SETTINGS)]


def test_every_example_patient_wording_is_measured_and_within_its_target() -> None:
    rows = run_cli(REPO, "status", "--format", "json").json()["articles"]
    grades = {row["article"]: row["readability"]["patient"] for row in rows}
    patient_files = sorted(REPO.glob("content/*/*.patient.md"))
    assert len(grades) == len(patient_files) == 8
    assert all(0 < g["grade"] <= g["target"] == 8 for g in grades.values()), grades


def test_textstat_works_offline_and_never_fetches_data() -> None:
    """textstat 0.7.3 counts syllables with pyphen's bundled dictionaries: with every socket
    refused, the grade is measured and no NLTK (whose data would be downloaded) is loaded."""
    script = (
        "import socket, sys\n"
        "def refuse(*a, **k):\n"
        "    raise OSError('network used')\n"
        "socket.socket = refuse\n"
        "socket.create_connection = refuse\n"
        "from pipeline.readability import measure\n"
        "print(measure('Take one pill a day. Drink lots of water.').grade)\n"
        "import textstat, importlib.metadata as m\n"
        "print(m.version('textstat'), any(n.startswith('nltk') for n in sys.modules))\n"
        "print('pkg_resources' in sys.modules)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=False, timeout=60
    )
    assert done.returncode == 0, done.stderr
    grade, info, setuptools = done.stdout.splitlines()
    assert float(grade) < 5 and info == "0.7.3 False"
    assert setuptools == "False"  # textstat's pkg_resources import got a stand-in, not setuptools
