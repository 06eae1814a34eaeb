"""A visitor's keys sealed for one run: they open only with the same shared secret, for the same run."""

from __future__ import annotations

import base64

import pytest

from cluster.sealed import SECRET_ENV, ClusterSecretError, Sealer, SessionSecrets, refusal

pytestmark = pytest.mark.cluster

SECRET = "x" * 40
KEYS = SessionSecrets(keys={"openai": "sk-canary-0123456789"}, named={"SERPER_API_KEY": "serper-canary-42"})


def test_keys_sealed_for_a_run_open_on_a_worker_with_the_same_secret_and_show_nowhere() -> None:
    sealed = Sealer(SECRET).seal(KEYS, "run-1")

    assert "canary" not in sealed and "openai" not in sealed  # not even which providers
    opened = Sealer(SECRET).open(sealed, "run-1")
    assert dict(opened.keys) == {"openai": "sk-canary-0123456789"}
    assert dict(opened.named) == {"SERPER_API_KEY": "serper-canary-42"}
    assert "canary" not in repr(opened)
    assert Sealer(SECRET).seal(KEYS, "run-1") != sealed  # a fresh nonce each time


def test_a_different_secret_is_named_as_such_not_as_a_corrupt_value() -> None:
    sealed = Sealer(SECRET).seal(KEYS, "run-1")

    with pytest.raises(ClusterSecretError, match=f"this worker's {SECRET_ENV} is not the app's"):
        Sealer("y" * 40).open(sealed, "run-1")


def test_sealed_keys_do_not_open_for_another_run_or_once_altered() -> None:
    sealer = Sealer(SECRET)
    sealed = sealer.seal(KEYS, "run-1")
    head, body = sealed.rsplit(".", 1)
    raw = bytearray(base64.b64decode(body))
    raw[20] ^= 1  # one bit of the ciphertext
    altered = f"{head}.{base64.b64encode(bytes(raw)).decode()}"

    for value, run_id in ((sealed, "run-2"), (altered, "run-1")):
        with pytest.raises(ClusterSecretError, match="do not open for this run"):
            sealer.open(value, run_id)


def test_a_short_or_missing_secret_is_refused_naming_the_variable() -> None:
    with pytest.raises(ClusterSecretError, match=f"{SECRET_ENV} is too short"):
        Sealer("hunter2")
    assert Sealer.from_env({}) is None
    assert Sealer.from_env({SECRET_ENV: SECRET}).key_id == Sealer(SECRET).key_id
    message = str(refusal())
    assert SECRET_ENV in message and "Settings" in message
