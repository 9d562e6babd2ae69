"""The distributable tool: the wheel holds every file a publication needs, and installed from it
into a fresh virtual environment, `pipeline init` makes a publication that checks and builds
with no path of this repository.

The fresh environment gets the wheel itself (`pip --python ... install --no-deps`) and borrows
the dependencies from this environment's site-packages through a `.pth` line, so the test needs
no package index; the pipeline it runs is the wheel's copy (asserted), not this checkout."""

from __future__ import annotations

import os
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

import pytest
from conftest import REPO

ARTICLE = "endocrinology/hypothyroidism-levothyroxine"


def run(*command: str, cwd: Path, env: dict | None = None) -> subprocess.CompletedProcess:
    done = subprocess.run(
        command, cwd=cwd, capture_output=True, text=True, env=env or clean_env(), timeout=600
    )
    assert done.returncode == 0, f"{command}:\n{done.stdout}\n{done.stderr}"
    return done


def clean_env() -> dict[str, str]:
    drop = ("VIRTUAL_ENV", "PYTHONPATH", "PYTHONHOME", "PIPELINE_PREVIEW", "PYTHONSAFEPATH")
    return {k: v for k, v in os.environ.items() if k not in drop}


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("wheel")
    run(sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(out), str(REPO), cwd=out)
    (found,) = out.glob("guideline_pipeline-*.whl")
    return found


@pytest.fixture(scope="module")
def venv(wheel: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    env_dir = tmp_path_factory.mktemp("venv") / "env"
    run(sys.executable, "-m", "venv", "--without-pip", str(env_dir), cwd=env_dir.parent)
    python = env_dir / "bin" / "python"
    run(
        sys.executable, "-m", "pip", "--python", str(python), "install", "-q", "--no-deps",
        "--no-index", str(wheel), cwd=env_dir.parent,
    )  # fmt: skip
    purelib = run(
        str(python), "-c", "import sysconfig; print(sysconfig.get_path('purelib'))", cwd=env_dir
    ).stdout.strip()
    # The dependencies: this environment's site-packages, after the wheel's own.
    Path(purelib, "borrowed-dependencies.pth").write_text(sysconfig.get_path("purelib") + "\n")
    return env_dir


def test_wheel_holds_every_file_a_publication_needs(wheel: Path) -> None:
    names = set(zipfile.ZipFile(wheel).namelist())
    package = REPO / "pipeline"
    wanted = {
        p.relative_to(REPO).as_posix()
        for p in package.rglob("*")
        if p.is_file() and "__pycache__" not in p.parts and not p.name.endswith(".pyc")
    }
    wanted |= {f"pipeline/schema/{p.name}" for p in (REPO / "schema").glob("*.json")}
    assert wanted - names == set()
    for rel in (
        "pipeline/theme/main.html",
        "pipeline/theme/assets/audience.js",
        "pipeline/theme/partials/javascripts/base.html",
        "pipeline/templates/article.md.j2",
        "pipeline/docs_stub/index.md",
        "pipeline/schema/article.schema.json",
        "pipeline/starter/github/workflows/pull-request.yml",
        "pipeline/starter/gitignore",
    ):
        assert rel in names, rel
    entry_points = next(n for n in names if n.endswith("entry_points.txt"))
    text = zipfile.ZipFile(wheel).read(entry_points).decode()
    assert "guideline = pipeline.plugin:GuidelinePlugin" in text
    assert "pipeline = pipeline.cli:main" in text


def test_installed_wheel_inits_checks_and_builds_a_new_publication(
    venv: Path, tmp_path: Path
) -> None:
    python, pipeline = str(venv / "bin" / "python"), str(venv / "bin" / "pipeline")
    where = run(python, "-c", "import pipeline; print(pipeline.__file__)", cwd=tmp_path).stdout
    assert Path(where.strip()).is_relative_to(venv), where  # the wheel's copy, not this checkout

    run(pipeline, "init", "notes", cwd=tmp_path)
    pub = tmp_path / "notes"
    run("git", "init", "-q", cwd=pub)
    assert "0 error(s)" in run(pipeline, "check", cwd=pub).stdout
    built = run(pipeline, "build", cwd=pub).stdout
    assert "0 article(s) published" in built and (pub / "site/index.html").is_file()
    assert "1 article(s) published" in run(pipeline, "build", "--preview", cwd=pub).stdout
    assert (pub / "site" / ARTICLE / "index.html").is_file()

    # A bare MkDocs build on the new publication's own mkdocs.yml: the plugin runs the pipeline.
    run(python, "-m", "mkdocs", "build", "-q", "-d", "bare-site", cwd=pub)
    home = (pub / "bare-site" / "index.html").read_text(encoding="utf-8")
    assert "Notes" in home and "guideline.css" in home

    # The render step, then MkDocs on the generated configuration.
    run(pipeline, "render", "--preview", cwd=pub)
    run(python, "-m", "mkdocs", "build", "-q", "-f", "build/mkdocs.preview.yml", cwd=pub)
    assert (pub / "build/site-preview" / ARTICLE / "index.html").is_file()

    for path in [*pub.rglob("*.yml"), *pub.rglob("*.html"), *pub.rglob("*.md")]:
        if path.is_file():
            assert str(REPO) not in path.read_text(encoding="utf-8"), path


def test_installed_wheel_builds_with_zensical(venv: Path, tmp_path: Path) -> None:
    python, pipeline = str(venv / "bin" / "python"), str(venv / "bin" / "pipeline")
    has = subprocess.run([python, "-c", "import zensical"], capture_output=True).returncode == 0
    if not has:
        if os.environ.get("CI"):
            pytest.fail("zensical is a pinned test dependency and must be installed in CI")
        pytest.skip("zensical is not installed (pip install -e '.[test]')")
    run(pipeline, "init", "notes", cwd=tmp_path)
    pub = tmp_path / "notes"
    out = run(pipeline, "build", "--builder", "zensical", "--preview", cwd=pub).stdout
    assert "with zensical" in out
    assert (pub / "site" / ARTICLE / "index.html").is_file()
