"""SSH signatures over review statements: `ssh-keygen -Y sign` to sign, in-process verification.

A signature is OpenSSH's SSHSIG format (PROTOCOL.sshsig), stored in a review record as the
base64 of its binary blob on one line; `armor()` turns it back into the `-----BEGIN SSH
SIGNATURE-----` text that `ssh-keygen -Y verify` reads. What is signed is a canonical statement
built from the record's fields, so the record cannot be edited without breaking its signature."""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import enum
import functools
import hashlib
import json
import os
import subprocess
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

# The SSH signature namespace: a signature made for Git commits or files does not verify here.
NAMESPACE = "review@guideline-pipeline"
REVIEW_STATEMENT = "guideline-pipeline review statement"
SETTINGS_STATEMENT = "guideline-pipeline settings statement"
_MAGIC = b"SSHSIG"
_HASHES = {"sha256": hashlib.sha256, "sha512": hashlib.sha512}


class SigningProblem(Exception):
    """The statement could not be signed: no key, a locked key, no ssh-keygen (one sentence)."""


class Verdict(enum.Enum):
    VALID = "valid"
    MISSING = "missing"  # the record has no signature
    MALFORMED = "malformed"  # not an SSH signature
    FOREIGN = "foreign"  # a sound signature, by a key other than the reviewer's
    BAD = "bad"  # the reviewer's key, but the statement it signed is not this record


# --- statements ------------------------------------------------------------------------------


def timestamp(value: dt.date | dt.datetime) -> str:
    """The one text form of a review date: a UTC timestamp, or a plain date for old records."""
    if isinstance(value, dt.datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=dt.UTC)
        return value.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    return value.isoformat()


def _statement(kind: str, fields: list[tuple[str, str]]) -> bytes:
    # One field a line, values JSON-quoted: no value can forge another line.
    lines = [kind] + [f"{name}: {json.dumps(value, ensure_ascii=True)}" for name, value in fields]
    return ("\n".join(lines) + "\n").encode("ascii")


def review_statement(
    publication: str, article_id: str, record: Mapping[str, object], scheme: int
) -> bytes:
    """What a reviewer signs: publication, article, decision, date, fingerprint, reviewer, the
    fingerprint scheme and the note."""
    date = record.get("date")
    return _statement(
        REVIEW_STATEMENT,
        [
            ("publication", publication),
            ("article", article_id),
            ("decision", str(record.get("decision"))),
            ("date", timestamp(date) if isinstance(date, dt.date) else str(date)),
            ("fingerprint", str(record.get("fingerprint"))),
            ("reviewer", str(record.get("reviewer"))),
            ("scheme", str(scheme)),
            ("note", str(record.get("note") or "")),
        ],
    )


def settings_statement(publication: str, digest: str, reviewer: str, date: str) -> bytes:
    """What a reviewer signs to approve a change to the governed settings."""
    return _statement(
        SETTINGS_STATEMENT,
        [("publication", publication), ("digest", digest), ("reviewer", reviewer), ("date", date)],
    )


# --- the SSHSIG wire format ------------------------------------------------------------------


class _Reader:
    def __init__(self, data: bytes) -> None:
        self.data, self.pos = data, 0

    def take(self, n: int) -> bytes:
        if n < 0 or self.pos + n > len(self.data):
            raise ValueError("truncated")
        chunk = self.data[self.pos : self.pos + n]
        self.pos += n
        return chunk

    def string(self) -> bytes:
        return self.take(int.from_bytes(self.take(4), "big"))

    def mpint(self) -> int:
        return int.from_bytes(self.string(), "big", signed=True)

    def done(self) -> bool:
        return self.pos == len(self.data)


def _string(value: bytes) -> bytes:
    return len(value).to_bytes(4, "big") + value


@dataclass(frozen=True)
class Signature:
    public_key: bytes  # the signer's key, as an SSH wire blob
    namespace: str
    hash_algorithm: str
    algorithm: str
    blob: bytes


def parse_signature(text: str) -> Signature:
    """A signature as stored (one-line base64) or armored; ValueError when it is not one."""
    body = "".join(
        line.strip() for line in text.strip().splitlines() if not line.startswith("-----")
    )
    try:
        data = base64.b64decode(body, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise ValueError("not base64") from exc
    reader = _Reader(data)
    if reader.take(6) != _MAGIC or int.from_bytes(reader.take(4), "big") != 1:
        raise ValueError("not an SSH signature")
    public_key = reader.string()
    namespace = reader.string().decode("utf-8", "replace")
    reader.string()  # reserved
    hash_algorithm = reader.string().decode("ascii", "replace")
    inner = _Reader(reader.string())
    algorithm = inner.string().decode("ascii", "replace")
    blob = inner.string()
    if not reader.done():
        raise ValueError("trailing data")
    return Signature(public_key, namespace, hash_algorithm, algorithm, blob)


def key_blob(public_key_line: str) -> bytes:
    """The wire blob of an OpenSSH public key line (`ssh-ed25519 AAAA... comment`)."""
    parts = public_key_line.split()
    if len(parts) < 2:
        raise ValueError("not an OpenSSH public key line")
    return base64.b64decode(parts[1], validate=True)


def _signed_data(namespace: str, hash_algorithm: str, message: bytes) -> bytes:
    digest = _HASHES[hash_algorithm](message).digest()
    return (
        _MAGIC
        + _string(namespace.encode())
        + _string(b"")
        + _string(hash_algorithm.encode())
        + _string(digest)
    )


@functools.lru_cache(maxsize=256)
def _public_key(key_line: str) -> Any:
    """A board key, read once per process (a public key object is immutable)."""
    from cryptography.hazmat.primitives import serialization

    return serialization.load_ssh_public_key(key_line.encode("ascii"))


def _verify_raw(key_line: str, sig: Signature, data: bytes) -> bool:
    # Imported here: a run whose verdicts are all known (see `remember`) never needs them.
    from cryptography.exceptions import InvalidSignature
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding, rsa
    from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature

    key = _public_key(key_line)
    try:
        if isinstance(key, ed25519.Ed25519PublicKey) and sig.algorithm == "ssh-ed25519":
            key.verify(sig.blob, data)
        elif isinstance(key, rsa.RSAPublicKey) and sig.algorithm.startswith("rsa-sha2-"):
            algorithm = hashes.SHA256() if sig.algorithm == "rsa-sha2-256" else hashes.SHA512()
            key.verify(sig.blob, data, padding.PKCS1v15(), algorithm)
        elif isinstance(key, ec.EllipticCurvePublicKey) and sig.algorithm.startswith("ecdsa-"):
            inner = _Reader(sig.blob)
            der = encode_dss_signature(inner.mpint(), inner.mpint())
            curve_hash = {256: hashes.SHA256(), 384: hashes.SHA384(), 521: hashes.SHA512()}
            key.verify(der, data, ec.ECDSA(curve_hash[key.curve.key_size]))
        else:
            return False
    except (InvalidSignature, ValueError, KeyError):
        return False
    return True


# Verdicts by `verdict_key`: a verdict is a pure function of what that key hashes, so a
# statement is verified once per run (and, through `remember`, once per machine).
_cache: dict[bytes, Verdict] = {}
_used: set[bytes] = set()


def verdict_key(
    message: bytes, signature: str, allowed_keys: list[str], namespace: str = NAMESPACE
) -> bytes:
    """What a verdict depends on, hashed: the statement, the signature, the keys, the namespace."""
    parts = [message, signature.encode(), "\n".join(allowed_keys).encode(), namespace.encode()]
    return hashlib.sha256(b"\0".join(hashlib.sha256(p).digest() for p in parts)).digest()


def verify(
    message: bytes,
    signature: str | None,
    allowed_keys: list[str],
    namespace: str = NAMESPACE,
) -> Verdict:
    """Whether `signature` is a signature of `message` by one of `allowed_keys` (OpenSSH public
    key lines: the signer's current key first, then keys it used before)."""
    if not signature:
        return Verdict.MISSING
    cache_key = verdict_key(message, signature, allowed_keys, namespace)
    _used.add(cache_key)
    verdict = _cache.get(cache_key)
    if verdict is None:
        verdict = _verdict(message, signature, allowed_keys, namespace)
        _cache[cache_key] = verdict
    return verdict


def known_verdicts(used_only: bool = False) -> dict[bytes, Verdict]:
    """The verdicts reached so far (or only those asked for since `forget_use`), by
    `verdict_key`: for a parallel worker to hand back, or for a cache to keep."""
    if used_only:
        return {key: _cache[key] for key in _used if key in _cache}
    return dict(_cache)


def remember(verdicts: Mapping[bytes, Verdict]) -> None:
    """Take verdicts reached elsewhere (a worker process, this machine's cache) as known. Only
    the verifier's own results may be passed here: a verdict is never read from the content."""
    _cache.update(verdicts)


def forget_use() -> None:
    _used.clear()


def _verdict(message: bytes, signature: str, allowed_keys: list[str], namespace: str) -> Verdict:
    try:
        sig = parse_signature(signature)
    except ValueError:
        return Verdict.MALFORMED
    if sig.hash_algorithm not in _HASHES:
        return Verdict.MALFORMED
    blobs = {}
    for line in allowed_keys:
        try:
            blobs[key_blob(line)] = line
        except (ValueError, binascii.Error):
            continue
    key_line = blobs.get(sig.public_key)
    if key_line is None:
        return Verdict.FOREIGN
    if sig.namespace != namespace:
        return Verdict.BAD
    from cryptography.exceptions import UnsupportedAlgorithm

    try:
        ok = _verify_raw(key_line, sig, _signed_data(namespace, sig.hash_algorithm, message))
    except (ValueError, TypeError, UnsupportedAlgorithm):
        return Verdict.MALFORMED
    return Verdict.VALID if ok else Verdict.BAD


def armor(signature: str) -> str:
    """The stored one-line signature as the armored text `ssh-keygen -Y verify` reads."""
    body = signature.strip()
    lines = [body[i : i + 70] for i in range(0, len(body), 70)]
    return "-----BEGIN SSH SIGNATURE-----\n" + "\n".join(lines) + "\n-----END SSH SIGNATURE-----\n"


def compact(armored: str) -> str:
    """`ssh-keygen -Y sign` output as the one line kept in a review record."""
    return "".join(line.strip() for line in armored.splitlines() if not line.startswith("-----"))


# --- signing with ssh-keygen -----------------------------------------------------------------


def default_key(root: Path) -> str | None:
    """Git's `user.signingkey`, as reviewers already set it up for commit signing."""
    try:
        done = subprocess.run(
            ["git", "-C", str(root), "config", "--get", "user.signingkey"],
            capture_output=True,
            text=True,
            check=False,
        )
    except FileNotFoundError:
        return None
    value = done.stdout.strip()
    return value or None


def sign(message: bytes, key: str, namespace: str = NAMESPACE) -> str:
    """Sign with `ssh-keygen -Y sign`. `key` is a private key file, a public key file whose
    private half is in ssh-agent, or Git's `key::ssh-ed25519 AAAA...` form (agent)."""
    with tempfile.TemporaryDirectory(prefix="pipeline-sign-") as tmp:
        if key.startswith("key::"):
            key_file = Path(tmp) / "agent-key.pub"
            key_file.write_text(key[len("key::") :].strip() + "\n", encoding="ascii")
        else:
            key_file = Path(os.path.expanduser(key))
            if not key_file.is_file():
                raise SigningProblem(f"the signing key {key} does not exist")
        try:
            done = subprocess.run(
                ["ssh-keygen", "-q", "-Y", "sign", "-f", str(key_file), "-n", namespace],
                input=message,
                capture_output=True,
                check=False,
                timeout=120,
            )
        except FileNotFoundError as exc:
            raise SigningProblem("ssh-keygen is not installed (OpenSSH 8.2 or newer)") from exc
        except subprocess.TimeoutExpired as exc:
            raise SigningProblem("ssh-keygen did not finish signing within 2 minutes") from exc
    if done.returncode != 0 or b"BEGIN SSH SIGNATURE" not in done.stdout:
        reason = done.stderr.decode("utf-8", "replace").strip().splitlines()
        raise SigningProblem(
            f"ssh-keygen could not sign with {key}: {reason[-1] if reason else 'unknown error'}"
        )
    return compact(done.stdout.decode("ascii"))


def public_key_of(key: str) -> str | None:
    """The public key line for a signing key given as `--key` or `user.signingkey`."""
    if key.startswith("key::"):
        return key[len("key::") :].strip()
    path = Path(os.path.expanduser(key))
    pub = path if path.suffix == ".pub" else path.with_name(path.name + ".pub")
    try:
        return pub.read_text(encoding="ascii").strip()
    except (OSError, UnicodeDecodeError):
        return None
