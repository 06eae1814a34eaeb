"""A visitor's session keys on their way to a worker: sealed with AES-256-GCM, opened only there.

In local mode the keys a visitor typed in Settings (or their Hugging Face sign-in token) live in the
app's memory and reach LiteLLM per call. In cluster mode the run executes on a worker, so the keys
travel with the run's Temporal request — and Temporal keeps that request in its workflow history
(an activity's input is what a retry after a worker's death starts from). So they travel sealed:
AES-256-GCM with a key derived (HKDF-SHA256) from `GRAPHWRIGHT_CLUSTER_SECRET`, the same value on
every app replica and worker, and the run id as associated data (a sealed value copied into another
run does not open). Only the secret material is sealed: the rest of the request (run id, model
name) stays readable for operators in Temporal's UI and needs no codec server.

Nothing here is stored elsewhere: PostgreSQL never sees the keys; each segment gets a fresh seal
from the app (a start, a resume, an approval carries the deciding visitor's keys, as locally), and
a worker holds the opened keys only in the segment's engine, for the segment.
"""

from __future__ import annotations

import base64
import binascii
import json
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

SECRET_ENV = "GRAPHWRIGHT_CLUSTER_SECRET"
MIN_SECRET_CHARS = 32
_VERSION = "v1"
_HOW = (f"set {SECRET_ENV} to the same random value (at least {MIN_SECRET_CHARS} characters, e.g. the output "
        "of `openssl rand -base64 32`) on every app replica and every worker")


class ClusterSecretError(RuntimeError):
    """The shared secret is missing, malformed, or not the one a value was sealed with."""


class SessionKeysRefused(ClusterSecretError):
    """A visitor has their own keys, but this deployment cannot send them to its workers safely."""


@dataclass(frozen=True)
class SessionSecrets:
    """What a visitor brought: provider keys (typed, or the sign-in token) and named secrets."""

    keys: Mapping[str, str] = field(default_factory=dict)
    named: Mapping[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        object.__setattr__(self, "keys", MappingProxyType({p: k for p, k in self.keys.items() if k}))
        object.__setattr__(self, "named", MappingProxyType({n: v for n, v in self.named.items() if v}))

    def __bool__(self) -> bool:
        return bool(self.keys or self.named)

    def __repr__(self) -> str:
        return f"SessionSecrets(keys={sorted(self.keys)}, named={sorted(self.named)})"


class Sealer:
    """Seals and opens `SessionSecrets` for one run with the key derived from the shared secret."""

    def __init__(self, secret: str) -> None:
        from cryptography.hazmat.primitives.ciphers.aead import AESGCM

        if len(secret.strip()) < MIN_SECRET_CHARS:
            raise ClusterSecretError(f"{SECRET_ENV} is too short to protect keys: {_HOW}")
        material = secret.strip().encode()
        self._aead = AESGCM(_derive(material, b"graphwright session secrets v1", 32))
        # names the secret without revealing it, so a mismatch reads as one (not as a corrupt value)
        self.key_id = _derive(material, b"graphwright key id v1", 4).hex()

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Sealer | None:
        secret = (os.environ if environ is None else environ).get(SECRET_ENV, "")
        return cls(secret) if secret.strip() else None

    def seal(self, secrets: SessionSecrets, run_id: str) -> str:
        nonce = os.urandom(12)
        plain = json.dumps({"keys": dict(secrets.keys), "named": dict(secrets.named)}).encode()
        sealed = self._aead.encrypt(nonce, plain, run_id.encode())
        return f"{_VERSION}.{self.key_id}.{base64.b64encode(nonce + sealed).decode()}"

    def open(self, sealed: str, run_id: str) -> SessionSecrets:
        from cryptography.exceptions import InvalidTag

        version, key_id, body = (sealed.split(".", 2) + ["", ""])[:3]
        if version != _VERSION:
            raise ClusterSecretError(f"the run's keys were sealed in an unknown format ({version!r}): "
                                     "update this worker to the app's version")
        if key_id != self.key_id:
            raise ClusterSecretError(f"this worker's {SECRET_ENV} is not the app's (key id {self.key_id}, the "
                                     f"run's keys were sealed with {key_id}): {_HOW}")
        try:
            raw = base64.b64decode(body, validate=True)
            opened = json.loads(self._aead.decrypt(raw[:12], raw[12:], run_id.encode()))
        except (InvalidTag, ValueError, binascii.Error):
            raise ClusterSecretError("the run's sealed keys do not open for this run (altered, or copied from "
                                     "another run)") from None
        return SessionSecrets(keys=opened["keys"], named=opened["named"])


def refusal() -> SessionKeysRefused:
    """Why a visitor's own keys cannot run here, and what the operator must set."""
    return SessionKeysRefused(
        "This deployment runs workflows on separate workers and cannot send your own API keys to them "
        f"securely: its operator has not set {SECRET_ENV}. Remove your keys under Settings to run with the "
        f"server's keys, or ask the operator to {_HOW}.")


def _derive(material: bytes, info: bytes, length: int) -> bytes:
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.kdf.hkdf import HKDF

    return HKDF(algorithm=hashes.SHA256(), length=length, salt=None, info=info).derive(material)
