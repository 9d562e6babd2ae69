"""The parse cache: what loading made of each source file, by the digest of its bytes, so that a
publication checked before is read again without parsing what did not change.

An entry is trusted only when this machine made it. The cache folder (build/cache/, never
committed) is thrown away when Git tracks anything under build/ or when it lacks the stamp this
machine leaves in it; and every pack carries an HMAC made with a secret kept outside the
repository (in the user's cache folder), checked before a byte of it is unpickled. A committed,
copied, truncated or edited pack is therefore read as empty: it can neither run code nor hide a
diagnostic nor make a forged signature count. `PIPELINE_NO_CACHE=1` turns the cache off."""

from __future__ import annotations

import hashlib
import hmac
import os
import pickle
import shutil
import stat
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pipeline import paths

FOLDER = "build/cache"
STAMP = ".made-here"
DISABLE = "PIPELINE_NO_CACHE"
_MAGIC = b"GPCACHE1"
_SECRET_BYTES = 32


def enabled() -> bool:
    return os.environ.get(DISABLE, "") in ("", "0")


_code: bytes | None = None


# The libraries whose results are cached (parsers, the signature verifier, the readability
# measure), by distribution name as their installed metadata folders spell it.
LIBRARIES = (
    "pyyaml",
    "pydantic",
    "pydantic_core",
    "markdown_it_py",
    "pybtex",
    "nh3",
    "cryptography",
    "textstat",
    "pyphen",
)


def installed_versions(names: tuple[str, ...] = LIBRARIES) -> dict[str, str]:
    """The installed version of each distribution, from the names of the `*.dist-info`
    folders on the import path (the first found wins, as for imports): whether or not the
    library has been imported yet, and without importlib.metadata's cost."""
    wanted, found = set(names), {}
    for entry in sys.path:
        try:
            listing = os.listdir(entry or ".")
        except OSError:
            continue
        for item in listing:
            if not item.endswith(".dist-info"):
                continue
            name, _, version = item[: -len(".dist-info")].partition("-")
            name = name.lower().replace("-", "_").replace(".", "_")
            if name in wanted and name not in found:
                found[name] = version
    return {name: found.get(name, "") for name in names}


def code_version() -> bytes:
    """The digest of the code a cached result came from: every pipeline source file, Python
    and the versions of the libraries it calls. Any change makes every entry a miss."""
    global _code
    if _code is None:
        digest = hashlib.sha256(sys.version.encode())
        package = Path(__file__).resolve().parent
        for source in sorted(package.rglob("*.py")):
            digest.update(source.relative_to(package).as_posix().encode() + b"\0")
            digest.update(hashlib.sha256(source.read_bytes()).digest())
        for name, version in installed_versions().items():
            digest.update(f"{name}={version}\0".encode())
        _code = digest.digest()
    return _code


def _secret_file() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "guideline-pipeline" / "cache-key"


def _secret() -> bytes | None:
    """This user's key for the cache's HMACs, made on first use; None when it cannot be kept."""
    path = _secret_file()
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        data = b""
    except OSError:
        return None
    if len(data) == _SECRET_BYTES:
        return data
    data = os.urandom(_SECRET_BYTES)
    try:
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".cache-key.")  # mode 0600
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        os.replace(tmp, path)
    except OSError:
        return None
    return data


def _tracked(root: Path) -> bool:
    from pipeline import gitio

    try:
        return bool(gitio.git(root, "ls-files", "-z", "--", "build").strip("\0"))
    except gitio.GitError:
        return False


def _real_folder(path: Path) -> bool | None:
    """True for a folder, False for nothing there, None for anything else (a link, a file)."""
    try:
        mode = os.lstat(path).st_mode
    except FileNotFoundError:
        return False
    except OSError:
        return None
    return True if stat.S_ISDIR(mode) else None


def _regular_file(path: Path) -> bool:
    try:
        return stat.S_ISREG(os.lstat(path).st_mode)
    except OSError:
        return False


def folder(root: Path) -> Path | None:
    """The cache folder, made or cleared so that it holds only what this machine wrote; None
    when caching is off or impossible (a read-only checkout, a link where a folder should be:
    nothing outside the repository is ever written or removed through one)."""
    if not enabled():
        return None
    build, where = root / FOLDER.split("/")[0], root / FOLDER
    stamp = where / STAMP
    if _real_folder(build) is None or (present := _real_folder(where)) is None:
        return None
    try:
        if present and (_tracked(root) or not _regular_file(stamp)):
            shutil.rmtree(where)
            present = False
        if not present:
            where.mkdir(parents=True, exist_ok=True)
            # Git ignores the folder even where .gitignore does not name build/ (as pytest's
            # and ruff's caches do), so `git add -A` never commits it.
            (where / ".gitignore").write_text("# made by pipeline: never commit\n*\n")
            stamp.touch()
    except OSError:
        return None
    return where


class Pack:
    """One file of entries, entry key -> bytes, read and written whole."""

    def __init__(self, where: Path | None, name: str, read: bool = True) -> None:
        self.path = where / f"{name}.pack" if where is not None else None
        self.name = name
        self.secret = _secret() if where is not None else None
        self.entries: dict[bytes, bytes] = self._read() if read else {}
        self.kept: dict[bytes, bytes] = {}  # what this run used or made: what the next keeps
        self.changed = False

    def _read(self) -> dict[bytes, bytes]:
        if self.path is None or self.secret is None:
            return {}
        entries = read_sealed(self.path, self.name)
        return entries if isinstance(entries, dict) else {}

    def get(self, key: bytes) -> bytes | None:
        blob = self.entries.get(key)
        if blob is not None:
            self.kept[key] = blob
        return blob

    def put(self, key: bytes, blob: bytes) -> None:
        self.kept[key] = blob
        self.changed = True

    def save(self) -> None:
        """Write what this run used and made, when that differs from what was read (and,
        within `keeping_unused`, what it read and did not use). Within `collecting`, what
        would be written is collected instead."""
        if self.path is None or self.secret is None:
            return
        if _keep_unused and not self.changed:
            return
        if _keep_unused:
            self.kept = {**self.entries, **self.kept}
        if _collected is not None:
            known = _collected.setdefault(self.name, Collected(self.path.parent, len(self.entries)))
            known.kept.update(self.kept)
            known.changed = known.changed or self.changed
            return
        if not self.changed and len(self.kept) == len(self.entries):
            return
        self._write()

    def _write(self) -> None:
        assert self.path is not None
        try:
            write_sealed(self.path, self.name, self.kept)
        except OSError:
            pass  # a cache that cannot be written is only slower


def _mac(secret: bytes, name: str, body: bytes | memoryview) -> bytes:
    mac = hmac.new(secret, name.encode() + b"\0" + code_version(), hashlib.sha256)
    mac.update(body)
    return mac.digest()


def write_sealed(path: Path, name: str, value: object) -> bool:
    """`value` pickled into the file `path` with an HMAC of this user's key, `name` and the
    code version, for `read_sealed` alone; False when there is no key to seal it with."""
    secret = _secret()
    if secret is None:
        return False
    body = pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL)
    paths.atomic_write_chunks(path, [_MAGIC, _mac(secret, name, body), body], durable=False)
    return True


def read_sealed(path: Path, name: str) -> object | None:
    """What `write_sealed` wrote under `name` on this machine, with this code; None for any
    other file (never unpickled), a missing one or one that cannot be read."""
    secret = _secret()
    if secret is None:
        return None
    try:
        with open(path, "rb") as handle:
            data = handle.read()
    except OSError:
        return None
    head = len(_MAGIC) + 32
    if len(data) < head or not data.startswith(_MAGIC):
        return None
    mac, body = data[len(_MAGIC) : head], memoryview(data)[head:]  # no copy of the body
    if not hmac.compare_digest(mac, _mac(secret, name, body)):
        return None  # not made here, with this code: never unpickled
    try:
        return pickle.loads(body)
    except Exception:  # noqa: BLE001 - authenticated but unreadable: as if missing
        return None


_keep_unused = False


@dataclass
class Collected:
    """What the packs of one name saved within `collecting` would have kept."""

    where: Path
    read: int  # how many entries the pack held when read
    kept: dict[bytes, bytes] = field(default_factory=dict)
    changed: bool = False


_collected: dict[str, Collected] | None = None


@contextmanager
def collecting() -> Iterator[dict[str, Collected]]:
    """Packs saved meanwhile are not written: what each would keep is collected by name, so
    that parts of one run made in several processes are written once (`write_collected`)."""
    global _collected
    before, _collected = _collected, {}
    try:
        yield _collected
    finally:
        _collected = before


def write_collected(*parts: dict[str, Collected]) -> None:
    """Write each pack that `collecting` gathered, with what every part kept (the union: each
    part read the same entries and used or made some of them)."""
    names = dict.fromkeys(name for part in parts for name in part)
    for name in names:
        these = [part[name] for part in parts if name in part]
        pack = Pack(these[0].where, name, read=False)
        for known in these:
            pack.kept.update(known.kept)
        if any(known.changed for known in these) or len(pack.kept) != these[0].read:
            pack._write()


@contextmanager
def keeping_unused() -> Iterator[None]:
    """Packs saved meanwhile keep the entries they did not use: for a run that reads a part of
    the publication (a check judging one article), whose unused entries are still current."""
    global _keep_unused
    before, _keep_unused = _keep_unused, True
    try:
        yield
    finally:
        _keep_unused = before


_keyed: Any = None  # the digest of the code version, copied for every key


def entry_key(*parts: bytes | str) -> bytes:
    """The key of one entry: the code version and every part, each preceded by its length,
    so no part can run into the next."""
    global _keyed
    if _keyed is None:
        _keyed = hashlib.sha256(code_version())
    digest = _keyed.copy()
    for part in parts:
        data = part.encode() if isinstance(part, str) else part
        digest.update(len(data).to_bytes(8, "little"))
        digest.update(data)
    return digest.digest()


def parse_key(source: paths.SourceFile, data: bytes, evidence: list[str]) -> bytes:
    """The parse cache key of a source file's bytes. A body's facts depend on the evidence
    sections; a reference file's on itself alone."""
    reads = "\0".join(evidence) if source.kind != "references" else ""
    return entry_key(source.kind, source.path, source.audience or "", reads, data)


def load(blob: bytes) -> object:
    """An entry's value. Only for blobs from a `Pack` (authenticated) or this run's workers."""
    return pickle.loads(blob)


def dump(value: object) -> bytes:
    return pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL)
