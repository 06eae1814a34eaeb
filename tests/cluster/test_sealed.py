"""A visitor's keys sealed for one run: they open only with the same shared secret, for the same run."""

from __future__ import annotations

import base64

import pytest

from cluster.sealed import SECRET_ENV, ClusterSecretError, Sealer, SessionKeysRefused, SessionSecrets, refusal

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


def test_the_app_refuses_a_visitors_own_keys_without_the_secret_in_their_terms(tmp_path) -> None:
    """The Settings keys (and a Space sign-in token) of a visitor, in a cluster with no shared secret."""
    from cluster.executor import ClusterRuntime
    from cluster.temporal_client import TemporalSettings
    from orchestrator.credentials import Credentials
    from ui.funnel import friendly_message
    from ui.services import AppServices
    from ui.session import Session

    runtime = ClusterRuntime(TemporalSettings("127.0.0.1:9"), "postgresql://nobody@127.0.0.1:9/none", sealer=None)
    services = AppServices.create(tmp_path, base_credentials=Credentials(keys={"openai": "sk-operator"}),
                                  cluster=runtime)
    try:
        typed, signed_in = Session(), Session(hf_token="hf-visitor")
        typed.settings.keys["openai"] = "sk-visitor"
        for session in (typed, signed_in):
            with pytest.raises(SessionKeysRefused) as refused:
                services.engine_for(session)
            assert f"its operator has not set {SECRET_ENV}" in friendly_message(refused.value)
        operators = services.engine_for(Session())  # a visitor without keys of their own runs as before
        assert operators.engine.credentials.key_for("openai") == "sk-operator"
        operators.engine.state.close()
    finally:
        services.history.close()
