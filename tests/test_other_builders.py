"""Builder independence: `pipeline render` leaves generated pages and a configuration any
MkDocs-compatible builder takes over; `pipeline build --builder zensical` builds the same pages
with Zensical; a bare `zensical build` on the root configuration fails instead of publishing a
placeholder site."""

from __future__ import annotations

import importlib.util
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner
from conftest import REPO, replace_in, run_cli

from pipeline.cli import cli

HAS_ZENSICAL = importlib.util.find_spec("zensical") is not None
# Zensical is a pinned test dependency: in CI its tests run, never skip.
needs_zensical = pytest.mark.skipif(
    not HAS_ZENSICAL and not os.environ.get("CI"),
    reason="zensical is not installed (pip install -e '.[test]')",
)


def article_pages(site: Path) -> set[str]:
    """The article pages of a built site, as topic/slug."""
    return {
        p.parent.relative_to(site).as_posix()
        for p in site.glob("*/*/index.html")
        if p.parent.parent.name not in ("search", "assets")
    }


def run(*command: str, cwd: Path) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k not in ("PIPELINE_PREVIEW",)}
    return subprocess.run(command, cwd=cwd, capture_output=True, text=True, env=env, timeout=300)


def test_render_writes_pages_and_a_config_mkdocs_builds(publication: Path) -> None:
    result = run_cli(publication, "render")
    assert result.exit_code == 0, result.stderr
    assert "mkdocs build -f build/mkdocs.production.yml" in result.output
    config_file = publication / "build" / "mkdocs.production.yml"
    config = yaml.safe_load(config_file.read_text(encoding="utf-8"))
    assert config["INHERIT"] == "../mkdocs.yml" and config["docs_dir"] == "production"
    assert config["plugins"] == ["search"] and config["hooks"] == []
    assert config["site_name"] == "Clinical Guideline Notes"
    assert any("Topics" in item for item in config["nav"] if isinstance(item, dict))
    assert (publication / "build" / "production" / "index.md").is_file()

    built = run(
        sys.executable, "-m", "mkdocs", "build", "-q", "-f", str(config_file), cwd=publication
    )
    assert built.returncode == 0, built.stderr
    other = publication / "build" / "site-production"

    assert run_cli(publication, "build").exit_code == 0
    assert article_pages(other) == article_pages(publication / "site")
    assert "oncology/net-imaging" in article_pages(other)


def test_render_refuses_content_errors(publication: Path) -> None:
    replace_in(
        publication,
        "content/oncology/net-imaging.md",
        "status: approved",
        "status: approved\nunknown_field: 1",
    )
    result = run_cli(publication, "render")
    assert result.exit_code == 1
    assert "frontmatter.schema" in result.stderr
    assert not (publication / "build" / "mkdocs.production.yml").exists()


@needs_zensical
def test_build_with_zensical_publishes_the_same_articles(publication: Path) -> None:
    assert HAS_ZENSICAL, "zensical is a test dependency; install it"
    assert run_cli(publication, "build").exit_code == 0
    with_mkdocs = article_pages(publication / "site")

    result = run_cli(publication, "build", "--builder", "zensical")
    assert result.exit_code == 0, result.stderr
    assert "with zensical" in result.output
    site = publication / "site"
    assert site.is_symlink()  # swapped into place like a MkDocs build
    assert article_pages(site) == with_mkdocs
    page = (site / "oncology" / "net-imaging" / "index.html").read_text(encoding="utf-8")
    assert "guideline.css" in page and "audience.js" in page
    assert "noindex" not in page

    preview = run_cli(publication, "build", "--builder", "zensical", "--preview")
    assert preview.exit_code == 0, preview.stderr
    assert article_pages(publication / "site") > with_mkdocs  # every article, reviewed or not
    dashboard = publication / "site" / "review-dashboard" / "index.html"
    assert "noindex" in dashboard.read_text(encoding="utf-8")  # a preview is never indexed


@needs_zensical
def test_bare_zensical_build_on_the_root_config_fails_loudly(
    publication: Path, tmp_path: Path
) -> None:
    assert HAS_ZENSICAL, "zensical is a test dependency; install it"
    # The example publication's mkdocs.yml names pipeline/docs_stub and pipeline/theme: copies,
    # since Zensical refuses a docs folder that a link leads out of the project.
    (publication / "pipeline").unlink()
    for folder in ("docs_stub", "theme"):
        shutil.copytree(REPO / "pipeline" / folder, publication / "pipeline" / folder)
    new = tmp_path / "new"
    assert CliRunner().invoke(cli, ["init", str(new)]).exit_code == 0
    for root in (publication, new):
        result = run(sys.executable, "-m", "zensical", "build", cwd=root)
        assert result.returncode != 0, result.stdout
        assert "does-not-run-the-guideline-plugin" in result.stderr + result.stdout
        assert not (root / "site" / "index.html").exists()


def test_zensical_missing_is_an_environment_error(
    publication: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import pipeline.builders as builders

    monkeypatch.setattr(builders.importlib.util, "find_spec", lambda name: None)
    monkeypatch.setattr(builders.shutil, "which", lambda name: None)
    result = run_cli(publication, "build", "--builder", "zensical")
    assert result.exit_code == 2
    assert "pip install zensical" in result.stderr
