"""Signed statements interoperate with OpenSSH both ways, and every tampering is caught."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from pipeline.signing import NAMESPACE, Verdict, armor, sign, verify

MESSAGE = b'guideline-pipeline review statement\narticle: "oncology/net-imaging"\n'


def make_key(tmp: Path, kind: str) -> tuple[str, str]:
    key = tmp / f"example-{kind}"
    subprocess.run(
        ["ssh-keygen", "-q", "-t", kind, "-N", "", "-C", f"EXAMPLE-{kind}", "-f", str(key)],
        check=True,
    )
    return str(key), Path(f"{key}.pub").read_text().strip()


@pytest.mark.parametrize("kind", ["ed25519", "rsa", "ecdsa"])
def test_ssh_keygen_signatures_verify_here_and_ours_verify_in_ssh_keygen(
    tmp_path: Path, kind: str
) -> None:
    key, public = make_key(tmp_path, kind)
    signature = sign(MESSAGE, key)  # made by ssh-keygen -Y sign
    assert verify(MESSAGE, signature, [public]) is Verdict.VALID
    allowed = tmp_path / "allowed_signers"
    allowed.write_text(f"asmith {public}\n")
    sig_file = tmp_path / "statement.sig"
    sig_file.write_text(armor(signature))

    def openssh_verifies(message: bytes) -> bool:
        command = ["ssh-keygen", "-Y", "verify", "-f", str(allowed), "-I", "asmith"]
        command += ["-n", NAMESPACE, "-s", str(sig_file)]
        return subprocess.run(command, input=message, capture_output=True).returncode == 0

    assert openssh_verifies(MESSAGE)
    assert not openssh_verifies(MESSAGE + b"x")  # OpenSSH refuses a changed statement too


def test_every_tampering_has_its_verdict(tmp_path: Path) -> None:
    key, public = make_key(tmp_path, "ed25519")
    _, other = make_key(tmp_path / ".." / tmp_path.name, "ecdsa")
    signature = sign(MESSAGE, key)
    assert verify(MESSAGE + b" ", signature, [public]) is Verdict.BAD
    assert verify(MESSAGE, signature, [other]) is Verdict.FOREIGN
    assert verify(MESSAGE, None, [public]) is Verdict.MISSING
    assert verify(MESSAGE, "not a signature!", [public]) is Verdict.MALFORMED
    assert verify(MESSAGE, signature[:-8] + "AAAAAAA=", [public]) in (
        Verdict.BAD,
        Verdict.MALFORMED,
    )
    git_signature = subprocess.run(
        ["ssh-keygen", "-q", "-Y", "sign", "-f", key, "-n", "git"],
        input=MESSAGE,
        capture_output=True,
        check=True,
    ).stdout.decode()
    # A signature made for Git commits is not a review signature.
    assert verify(MESSAGE, git_signature, [public]) is Verdict.BAD
