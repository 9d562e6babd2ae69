"""Text is text: the one place that judges URLs and markup in content, escapes text for each
context of a page, and sanitises the HTML made from Markdown and by pybtex.

The checks call the judging functions to report problems; the renderer calls the escaping and
sanitising functions so that a page is safe even when a check was bypassed."""

from __future__ import annotations

import functools
import html
import re
from urllib.parse import quote, unquote

import nh3

SAFE_SCHEMES = frozenset({"http", "https", "mailto"})

# --- judging URLs as a browser reads them ------------------------------------------------------

# The WHATWG URL parser drops tab and newline anywhere and C0 controls and spaces at the ends;
# a scheme is judged with every control character and whitespace removed, which is stricter.
_CONTROLS = re.compile(r"[\x00-\x20\x7f-\x9f\u00ad\u200b-\u200f\u2028-\u202e\u2060-\u2064\ufeff]")
_SCHEME = re.compile(r"^([a-z][a-z0-9+.\-]*):")


def _decoded(value: str) -> str:
    """Entities and percent-escapes undone, repeatedly (a browser decodes the entities of an
    attribute once; doing it until nothing changes also catches double encoding)."""
    for _ in range(4):
        decoded = unquote(html.unescape(value))
        if decoded == value:
            break
        value = decoded
    return value


def url_scheme(url: str) -> str | None:
    """The scheme a browser would see in `url`, lower-case, or None for a relative URL."""
    match = _SCHEME.match(_CONTROLS.sub("", _decoded(url)).lower())
    return match.group(1) if match else None


def is_unsafe_url(url: str) -> bool:
    """A URL whose scheme is not http, https or mailto (javascript:, data:, vbscript:, ...)."""
    scheme = url_scheme(url)
    return scheme is not None and scheme not in SAFE_SCHEMES


def is_external_url(url: str) -> bool:
    """A URL that reaches another host: absolute with a host, or protocol-relative
    (browsers read `\\` as `/` in such URLs)."""
    plain = _CONTROLS.sub("", _decoded(url)).replace("\\", "/")
    return plain.startswith("//") or (url_scheme(url) in ("http", "https"))


# --- judging text fields ------------------------------------------------------------------------

_TAG = re.compile(r"<[A-Za-z/!?]")
_ATTR_LIST = re.compile(r"\{:?[ \t]*(?:[#.][A-Za-z_]|[A-Za-z_][\w-]*[ \t]*=)|\{:")
_SCRIPT_URL = re.compile(r"(?<![a-z0-9])(?:javascript|vbscript|livescript):")
_DATA_URL = re.compile(r"(?<![a-z0-9])data:[ \t]*(?:[a-z]+/[a-z0-9.+\-]+)?[ \t]*[;,]")
_MD_IMAGE = re.compile(r"!\[[^\]]*\]\(\s*<?([^)\s>]*)")


_SUSPECT_CHARS = re.compile(
    r"[<&%{\\!\x00-\x1f\x7f-\x9f\u00ad\u200b-\u200f\u2028-\u202e\u2060-\u2064\ufeff]",
    re.IGNORECASE,
)
_SUSPECT_SCHEME = re.compile(r"(?:script|data)\s*:", re.IGNORECASE)


def looks_suspicious(value: str) -> bool:
    """A quick test: False means `value` is plain text without looking further. (The two
    patterns are one alternation taken apart: the second needs a colon, and a scan for a
    character class alone is several times faster.)"""
    if _SUSPECT_CHARS.search(value) is not None:
        return True
    return ":" in value and _SUSPECT_SCHEME.search(value) is not None


def markup_in_text(value: str) -> str | None:
    """Why a text field's value would be markup on some page (an HTML tag, an attribute list,
    a script or data URL), or None for plain text."""
    decoded = _decoded(value)
    if _TAG.search(decoded):
        return "an HTML tag"
    if _ATTR_LIST.search(decoded):
        return "an attribute list ({...})"
    squeezed = _CONTROLS.sub("", decoded).lower()
    if _SCRIPT_URL.search(squeezed) or _DATA_URL.search(squeezed):
        return "a script or data link"
    return None


def external_resource_in_text(value: str) -> str | None:
    """The address of an image from another host written in a text field, if any."""
    for match in _MD_IMAGE.finditer(value):
        if is_external_url(match.group(1)):
            return match.group(1)
    return None


# --- identifiers that become links ---------------------------------------------------------------

_DOI = re.compile(r"10\.\d{4,9}/[^\s\"'<>\\]+")
_PMID = re.compile(r"[1-9]\d{0,9}")


def doi_url(doi: str) -> str | None:
    """https://doi.org/... for a well-formed DOI, else None (shown as text, never a link)."""
    doi = doi.strip()
    if not _DOI.fullmatch(doi):
        return None
    return "https://doi.org/" + quote(doi, safe="/:;()._-+[]")


def pubmed_url(pmid: str) -> str | None:
    pmid = pmid.strip()
    if not _PMID.fullmatch(pmid):
        return None
    return f"https://pubmed.ncbi.nlm.nih.gov/{pmid}/"


# --- escaping for each context of a page --------------------------------------------------------

# Characters no text field should carry into a page: C0/C1 controls (Python-Markdown's stash
# markers are STX/ETX) and noncharacters become U+FFFD; line and paragraph separators a space.
_UNPRINTABLE = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ufdd0-\ufdef\ufffe\uffff]")


def clean_text(value: object) -> str:
    text = _UNPRINTABLE.sub("\ufffd", str(value))
    return text.replace("\u2028", " ").replace("\u2029", " ")


def escape_html(value: object) -> str:
    """Text for an HTML text node or a quoted attribute value."""
    return html.escape(clean_text(value), quote=True)


# --- sanitising HTML ----------------------------------------------------------------------------

_TAGS = {
    "a", "abbr", "b", "blockquote", "br", "code", "del", "em", "h1", "h2", "h3", "h4", "h5", "h6",
    "hr", "i", "img", "li", "ol", "p", "pre", "s", "span", "strong", "sub", "sup", "table",
    "tbody", "td", "th", "thead", "tr", "ul",
}  # fmt: skip
_ATTRIBUTES = {
    "a": {"href", "title"},
    "img": {"src", "alt", "title"},
    "ol": {"start"},
    "h1": {"id"},
    "h2": {"id"},
    "h3": {"id"},
    "h4": {"id"},
    "h5": {"id"},
    "h6": {"id"},
    "th": {"style"},
    "td": {"style"},
}
ALLOWED_CLASSES = {"sup": {"gp-cite"}, "code": set()}
ALLOWED_TAGS = frozenset(_TAGS)
ALLOWED_ATTRIBUTES = {tag: frozenset(names | {"class"}) for tag, names in _ATTRIBUTES.items()}


def _filter_attribute(tag: str, name: str, value: str) -> str | None:
    if name in ("href", "src") and is_unsafe_url(value):
        return None
    if tag == "img" and name == "src" and is_external_url(value):
        return None
    return value


@functools.cache
def _cleaner() -> nh3.Cleaner:
    """The one sanitizer, made once: `nh3.clean` would build it again on every call."""
    return nh3.Cleaner(
        tags=set(_TAGS),
        attributes={tag: set(names) for tag, names in _ATTRIBUTES.items()},
        attribute_filter=_filter_attribute,
        allowed_classes={tag: set(names) for tag, names in ALLOWED_CLASSES.items()},
        url_schemes=set(SAFE_SCHEMES),
        filter_style_properties={"text-align"},
        link_rel=None,
        strip_comments=True,
    )


def sanitize_html(fragment: str) -> str:
    """HTML from markdown-it or pybtex, reduced to the tags, attributes, classes and URL
    schemes the pages use; images from other hosts lose their source."""
    return _cleaner().clean(clean_text(fragment))
