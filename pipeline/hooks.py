"""MkDocs hooks named in mkdocs.yml: `mkdocs build` and `mkdocs serve` run the pipeline's
check and render steps before MkDocs reads the generated pages."""

from pipeline.build import on_config, on_startup

__all__ = ["on_config", "on_startup"]
