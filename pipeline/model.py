"""The formats, as pydantic models: the single description of publication.yml, board.yml and
an article's front matter. The JSON Schema and the docs' field table are generated from here."""

from __future__ import annotations

import datetime as dt
import re
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

Identifier = Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9-]*$")]
ArticleId = Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9-]*/[a-z0-9][a-z0-9-]*$")]
Email = Annotated[str, StringConstraints(pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$")]
Fingerprint = Annotated[str, StringConstraints(pattern=r"^sha256:[0-9a-f]{64}$")]
Text = Annotated[str, StringConstraints(min_length=1, strip_whitespace=True)]
SshPublicKey = Annotated[
    str,
    StringConstraints(
        strip_whitespace=True,
        pattern=r"^(ssh-ed25519|ssh-rsa|ecdsa-sha2-nistp(256|384|521))"
        r" [A-Za-z0-9+/]+={0,3}( [^\n]*)?$",
    ),
]
Signature = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9+/]+={0,3}$", max_length=8192)]
Status = Literal["submitted", "under_review", "approved"]
Decision = Literal["approved", "changes_requested"]
STATUSES: tuple[Status, ...] = ("submitted", "under_review", "approved")


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


# --- publication.yml --------------------------------------------------------------------------


class Audience(Strict):
    """A group of readers with its own wording."""

    id: Identifier = Field(description="Used in variant file names: `<slug>.<id>.md`.")
    label: Text = Field(description="What the reader picks in 'Which best describes you?'.")
    description: str = Field("", description="One line under the label in the selector.")
    default: bool = Field(False, description="The audience of the main article file.")
    disclaimer: Identifier = Field(description="Key of the disclaimer shown to this audience.")
    readability_grade: float | None = Field(
        None,
        ge=1,
        le=20,
        description="Highest Flesch-Kincaid grade this audience's wording should read at "
        "(e.g. 8 for patients); `pipeline check` measures it (`readability.grade`).",
    )
    readability_severity: Literal["warning", "error"] = Field(
        "warning", description="Whether wording above `readability_grade` is a warning or an error."
    )


class Disclaimer(Strict):
    title: Text = Field(description="Heading of the disclaimer.")
    text: Text = Field(description="The disclaimer, in plain text.")


class ReviewPolicy(Strict):
    approvals_required: int = Field(1, ge=1, description="Distinct reviewer approvals needed.")
    review_interval_months: int = Field(
        12, ge=1, description="An approval older than this is due for review."
    )
    evidence_sections: list[Text] = Field(
        default_factory=list,
        description="Section headings whose bullets must each cite a source (case-insensitive).",
    )


class BuildSettings(Strict):
    """How the site is built."""

    shards: int = Field(
        1,
        ge=1,
        le=64,
        description="Machines the deploy workflow builds the site on, each a share of the "
        "topics (`pipeline build --shard I/N`, then `pipeline merge`); 1 builds on one machine. "
        "Pays from about 10,000 articles (benchmarks/README.md).",
    )


class Publication(Strict):
    """`content/publication.yml`: the site and its editorial settings."""

    id: Identifier | None = Field(
        None,
        description="Stable id of the publication in signed review statements; defaults to "
        "the name in lowercase with hyphens. Changing it invalidates every signature.",
    )
    name: Text = Field(description="Site name.")
    description: str = Field("", description="One sentence under the name on the home page.")
    site_url: str | None = Field(None, description="Public address of the site, if known.")
    audiences: list[Audience] = Field(min_length=1, description="Exactly one is the default.")
    disclaimers: dict[Identifier, Disclaimer] = Field(
        min_length=1, description="Disclaimer texts by key."
    )
    review: ReviewPolicy = Field(default_factory=ReviewPolicy, description="Approval rules.")
    question_intake_url: Annotated[
        str, StringConstraints(pattern=r"^(https://\S+|mailto:[^\s@/?#]+@[^\s@/?#]+(\?\S*)?)$")
    ] = Field(
        description="Where readers ask a follow-up question: an issue or web form (https://) "
        "or an email address (mailto:)."
    )
    editorial_policy: Text = Field(description="The editorial policy page, in Markdown.")
    build: BuildSettings = Field(
        default_factory=BuildSettings, description="How the deploy builds the site."
    )

    @model_validator(mode="after")
    def _one_default_audience(self) -> Publication:
        defaults = [a.id for a in self.audiences if a.default]
        if len(defaults) != 1:
            raise ValueError("exactly one audience must have `default: true`")
        ids = [a.id for a in self.audiences]
        if len(set(ids)) != len(ids):
            raise ValueError("audience ids must be unique")
        return self

    @property
    def publication_id(self) -> str:
        return self.id or re.sub(r"[^a-z0-9]+", "-", self.name.lower()).strip("-")

    @property
    def default_audience(self) -> Audience:
        return next(a for a in self.audiences if a.default)

    def audience(self, audience_id: str) -> Audience | None:
        return next((a for a in self.audiences if a.id == audience_id), None)


# --- board.yml --------------------------------------------------------------------------------


class BoardMember(Strict):
    id: Identifier = Field(description="Used in `authors` and review records.")
    name: Text = Field(description="Shown on the board page and on approved articles.")
    credentials: str = Field("", description="Degrees and speciality.")
    role: Literal["editor", "reviewer"] = Field(description="Only reviewers can approve.")
    git_email: Email = Field(
        description="The author email of this member's Git commits (tells who edited what; "
        "it proves nothing: approvals are proved by signatures)."
    )
    signing_key: SshPublicKey | None = Field(
        None,
        description="OpenSSH public key line (`ssh-ed25519 AAAA... comment`) that verifies "
        "this member's signed reviews; required for reviewers.",
    )
    previous_signing_keys: list[SshPublicKey] = Field(
        default_factory=list,
        description="Keys this member signed with before a routine rotation; their earlier "
        "signatures still count. Never list a compromised key here: remove it.",
    )
    github: str | None = Field(None, description="GitHub user name, for CODEOWNERS.")
    bio: str = Field("", description="One line for the board page.")

    @model_validator(mode="after")
    def _reviewers_sign(self) -> BoardMember:
        if self.role == "reviewer" and not self.signing_key:
            raise ValueError(f"reviewer '{self.id}' needs a `signing_key` (an OpenSSH public key)")
        return self

    @property
    def keys(self) -> list[str]:
        """Every key that verifies this member's signatures, the current one first."""
        return [k for k in [self.signing_key, *self.previous_signing_keys] if k]


class Board(Strict):
    """`content/board.yml`: editors and Medical Advisory Board members."""

    members: list[BoardMember] = Field(min_length=1, description="Editors and reviewers.")

    @model_validator(mode="after")
    def _unique_ids(self) -> Board:
        ids = [m.id for m in self.members]
        if len(set(ids)) != len(ids):
            raise ValueError("member ids must be unique")
        return self

    def member(self, member_id: str) -> BoardMember | None:
        return next((m for m in self.members if m.id == member_id), None)

    def reviewers(self) -> list[BoardMember]:
        return [m for m in self.members if m.role == "reviewer"]


# --- article front matter ---------------------------------------------------------------------


class ReviewRecord(Strict):
    """One decision by a board reviewer; written by `pipeline review`, never edited."""

    reviewer: Identifier = Field(description="Board id of a member with role reviewer.")
    decision: Decision = Field(description="approved or changes_requested.")
    date: dt.datetime | dt.date = Field(
        description="When the decision was made: a UTC timestamp (older records: a date)."
    )
    fingerprint: Fingerprint = Field(description="The article's content fingerprint when decided.")
    note: str | None = Field(None, description="The reviewer's comment.")
    signature: Signature | None = Field(
        None,
        description="The reviewer's SSH signature (base64 SSHSIG) over the review statement; "
        "written by `pipeline review`.",
    )

    @property
    def day(self) -> dt.date:
        """The UTC calendar day of the decision."""
        if isinstance(self.date, dt.datetime):
            stamp = self.date if self.date.tzinfo else self.date.replace(tzinfo=dt.UTC)
            return stamp.astimezone(dt.UTC).date()
        return self.date


class FrontMatter(Strict):
    """The YAML front matter of `content/<topic>/<slug>.md`."""

    question: Text = Field(description="The clinical question the article answers.")
    title: Text = Field(description="The article's title for the default audience.")
    authors: list[Identifier] = Field(min_length=1, description="Board ids of the authors.")
    status: Status = Field(description="submitted, under_review or approved.")
    last_updated: dt.date = Field(description="Date of the last content change.")
    tags: list[Text] = Field(default_factory=list, description="Shown on the tags page.")
    related: list[ArticleId] = Field(default_factory=list, description="`<topic>/<slug>` ids.")
    disclaimer: Identifier | None = Field(None, description="Overrides the audience's default.")
    reviews: list[ReviewRecord] = Field(default_factory=list, description="Append-only.")


class VariantFrontMatter(Strict):
    """The optional front matter of `<slug>.<audience>.md`: a title and a question."""

    title: Text | None = Field(None, description="The title in this audience's wording.")
    question: Text | None = Field(None, description="The question in this audience's wording.")


# Fields that are review metadata, not what a reader sees of the article.
REVIEW_FIELDS = frozenset({"status", "reviews"})


def json_schemas() -> dict[str, dict]:
    return {
        "publication": Publication.model_json_schema(),
        "board": Board.model_json_schema(),
        "article": FrontMatter.model_json_schema(),
    }


def _schema_type(prop: dict) -> str:
    if "$ref" in prop:
        return prop["$ref"].rsplit("/", 1)[-1]
    if "anyOf" in prop:
        return " or ".join(_schema_type(p) for p in prop["anyOf"])
    if "enum" in prop:
        return " / ".join(str(v) for v in prop["enum"])
    if "const" in prop:
        return str(prop["const"])
    kind = prop.get("type", "any")
    if kind == "array":
        return f"list of {_schema_type(prop.get('items', {}))}"
    if kind == "object" and "additionalProperties" in prop:
        return f"map of {_schema_type(prop['additionalProperties'])}"
    if prop.get("format") == "date":
        return "date (YYYY-MM-DD)"
    if "pattern" in prop:
        return f"{kind} matching `{prop['pattern']}`"
    return kind


def field_table(model: type[BaseModel]) -> str:
    """A Markdown table of a model's fields, for the docs."""
    props = model.model_json_schema()["properties"]
    rows = ["| field | type | required | description |", "|---|---|---|---|"]
    for name, info in model.model_fields.items():
        required = "yes" if info.is_required() else "no"
        kind = _schema_type(props[name]).replace("|", "\\|")
        desc = (info.description or "").replace("|", "\\|")
        rows.append(f"| `{name}` | {kind} | {required} | {desc} |")
    return "\n".join(rows)
