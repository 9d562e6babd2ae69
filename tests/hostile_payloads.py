"""Hostile strings, by class: what an attacker puts in a field, a body or a reference.

Every payload that would run script sets `window.__pwned` or opens a dialog; every payload that
would load a resource points at another host. The browser tests watch for both."""

from __future__ import annotations

# Markup in a text field: `pipeline check` names each one `content.raw-html`.
FIELD_MARKUP: dict[str, str] = {
    "tag": "<img src=x onerror=window.__pwned=1>",
    "script": "<script>window.__pwned=1</script>",
    "entity-tag": "&lt;img src=x onerror=window.__pwned=1&gt;",
    "attr-list-image": "![p](/x.png){ onerror=window.__pwned=1 }",
    "attr-list-block": "{: tabindex=0 autofocus onfocus=window.__pwned=1 }",
    "js-link": "[see](javascript:window.__pwned=1)",
    "js-newline": "[see](java\nscript:window.__pwned=1)",
    "js-tab": "[see](java\tscript:window.__pwned=1)",
    "js-control": "[see](java\x0bscript:window.__pwned=1)",
    "js-entity": "[see](java&#x09;script:window.__pwned=1)",
    "js-entity-letter": "[see](&#106;avascript:window.__pwned=1)",
    "js-percent": "[see](%6Aavascript:window.__pwned=1)",
    "js-case": "[see](JaVaScRiPt:window.__pwned=1)",
    "vbscript": "[see](vbscript:msgbox(1))",
    "data": "[see](data:text/html;base64,PHNjcmlwdD53aW5kb3cuX19wd25lZD0xPC9zY3JpcHQ+)",
}

# A resource from another host in a field: `content.external-resource`.
FIELD_EXTERNAL: dict[str, str] = {
    "image": "![x](https://evil.example/x.png)",
    "protocol-relative": "![x](//evil.example/x.png)",
    "backslash": "![x](\\\\evil.example/x.png)",
}

# Body lines (Markdown): the code each must give.
BODY_PAYLOADS: dict[str, tuple[str, str]] = {
    "html-inline": ("Text <img src=x onerror=window.__pwned=1> here.", "content.raw-html"),
    "html-block": ('<div onclick="window.__pwned=1">x</div>', "content.raw-html"),
    "js-link": ("[see](javascript:window.__pwned=1)", "content.raw-html"),
    "js-entity": ("[see](java&#x0A;script:window.__pwned=1)", "content.raw-html"),
    "js-entity-tab": ("[see](java&Tab;script:window.__pwned=1)", "content.raw-html"),
    "js-autolink": ("<javascript:window.__pwned=1>", "content.raw-html"),
    "js-reference": ("[see][r]\n\n[r]: javascript:window.__pwned=1", "content.raw-html"),
    "vbscript-image": ("![x](vbscript:msgbox(1))", "content.raw-html"),
    "data-image": ("![x](data:image/svg+xml;base64,PHN2Zz48L3N2Zz4=)", "content.raw-html"),
    "external-image": ("![x](https://evil.example/x.png)", "content.external-resource"),
    "protocol-relative-image": ("![x](//evil.example/x.png)", "content.external-resource"),
    "backslash-image": ("![x](/\\evil.example/x.png)", "content.external-resource"),
    "reference-image": ("![x][i]\n\n[i]: https://evil.example/x.png", "content.external-resource"),
}

# .bib field values: (field, value, code).
BIB_PAYLOADS: dict[str, tuple[str, str, str]] = {
    "title-tag": ("title", "Trial <img src=x onerror=window.__pwned=1>", "content.raw-html"),
    "journal-script": ("journal", "J <script>window.__pwned=1</script>", "content.raw-html"),
    "author-tag": ("author", "Smith, <b>John</b>", "content.raw-html"),
    "url-js": ("url", "javascript:window.__pwned=1", "content.raw-html"),
    "url-js-split": ("url", "java\nscript:window.__pwned=1", "content.raw-html"),
    "doi-breakout": (
        "doi",
        '10.1/"><img src=x onerror=window.__pwned=1>',
        "content.raw-html",
    ),
    "doi-invalid": ("doi", "not-a-doi", "reference.invalid-identifier"),
    "doi-quote": ("doi", '10.1000/x"onmouseover="window.__pwned=1', "reference.invalid-identifier"),
    "pmid-breakout": ("pmid", '1"><svg onload=window.__pwned=1>', "content.raw-html"),
    "pmid-letters": ("pmid", "12ab", "reference.invalid-identifier"),
}

# Text that merely looks like markup: `pipeline check` accepts it, and it must render as the
# same text, inert, on every page.
INERT_TEXT: list[str] = [
    'Risk < 5% & benefit > 10% for "most" patients\' outcomes',
    "*emphasis*, _underscores_, **bold**, `code`, [brackets] and {braces}",
    "A # hash, a \\ backslash, 1. a list marker and | a pipe |",
    "Doses: 5 mg {daily}, [twice] weekly",
]

# A code span may show markup: it is text, and search must keep it text too.
CODE_SPAN = "`<img src=x onerror=window.__pwned=1>`"
