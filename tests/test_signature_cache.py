"""Verdicts are cached by everything they depend on, and caching changes no verdict."""

from __future__ import annotations

import base64
from pathlib import Path

import pytest

from benchmarks.generate import ssh_sign
from pipeline import signing
from pipeline.signing import NAMESPACE, Verdict, verify

REPO = Path(__file__).resolve().parent.parent
KEY = REPO / "examples" / "keys" / "asmith"
PUBLIC = (REPO / "examples" / "keys" / "asmith.pub").read_text().strip()
MESSAGE = b'guideline-pipeline review statement\narticle: "oncology/net-imaging"\n'


@pytest.fixture(autouse=True)
def empty_cache(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(signing, "_cache", {})


def test_a_verdict_is_reused_only_for_the_same_namespace() -> None:
    signature = ssh_sign(KEY, MESSAGE, NAMESPACE)
    assert verify(MESSAGE, signature, [PUBLIC]) is Verdict.VALID
    assert verify(MESSAGE, signature, [PUBLIC], namespace="git") is Verdict.BAD
    assert verify(MESSAGE, signature, [PUBLIC]) is Verdict.VALID


def test_cached_verdicts_match_fresh_ones() -> None:
    good = ssh_sign(KEY, MESSAGE, NAMESPACE)
    cases = [
        (MESSAGE, good),
        (MESSAGE + b"edited", good),
        (MESSAGE, good[:-4] + "AAAA"),
        (MESSAGE, "not a signature"),
        (MESSAGE, ssh_sign(KEY, MESSAGE, "file")),
    ]
    fresh = [verify(m, s, [PUBLIC]) for m, s in cases]
    assert fresh == [verify(m, s, [PUBLIC]) for m, s in cases]  # now from the cache
    signing._cache.clear()
    signing.remember(dict.fromkeys(signing.known_verdicts(), Verdict.VALID))  # nothing known
    assert [verify(m, s, [PUBLIC]) for m, s in cases] == fresh
    assert fresh[0] is Verdict.VALID and Verdict.VALID not in fresh[1:]


def _string(value: bytes) -> bytes:
    return len(value).to_bytes(4, "big") + value


@pytest.mark.parametrize("kind", [b"ssh-foo", b"ssh-dss", b"ecdsa-sha2-nistp999"])
def test_a_key_type_the_verifier_cannot_load_is_malformed_not_a_crash(kind: bytes) -> None:
    blob = _string(kind) + _string(b"\1" * 32) + _string(b"ssh:")
    key_line = f"{kind.decode()} {base64.b64encode(blob).decode()} board-key"
    body = (
        b"SSHSIG"
        + (1).to_bytes(4, "big")
        + _string(blob)
        + _string(NAMESPACE.encode())
        + _string(b"")
        + _string(b"sha512")
        + _string(_string(kind) + _string(b"\0" * 64))
    )
    signature = base64.b64encode(body).decode()
    assert verify(MESSAGE, signature, [key_line]) is Verdict.MALFORMED
