"""Review-gated publishing pipeline for clinical guideline articles.

Stages, one module each: ``loader`` (files -> model), ``model`` (the formats), ``citations``,
``references``, ``fingerprint``, ``checks`` (diagnostics), ``render`` (Jinja -> Markdown),
``build`` (MkDocs + atomic swap), ``review`` and ``gate`` (the review workflow), ``cli``.
"""

__version__ = "0.1.0"
