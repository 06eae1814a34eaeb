"""On a Space: who the visitor is (Hugging Face sign-in), whose token pays, which model runs."""

from __future__ import annotations

import time
from pathlib import Path
from types import SimpleNamespace

import pytest

from history.quotas import QuotaLimits, Quotas
from history.store import HistoryStore
from orchestrator.credentials import Credentials
from orchestrator.hf_inference import HOSTED_DEFAULT, MODEL_ENV
from tests.history.helpers import record_all, run_events
from ui.account import account_markdown, claim, sign_in_enabled
from ui.services import OFFLINE_MODEL, AppServices
from ui.session import Session, adopt_user
from ui.settings_tab import keys_markdown

VISITOR_TOKEN = "hf_visitorCANARY0123456789abcdefXYZ"
OWNER_TOKEN = "hf_ownerCANARY0123456789abcdefXYZ"
LIMITS = {"anonymous": QuotaLimits(2, 3, 1_000, 0.10), "signed_in": QuotaLimits(4, 30, 10_000, 1.0)}


def _oauth(name: str, token: str = VISITOR_TOKEN, expires_in: float = 3600) -> SimpleNamespace:
    info = {"access_token": token, "expires_at": int(time.time() + expires_in),
            "userinfo": {"preferred_username": name}}
    return SimpleNamespace(username=None, session={"oauth_info": info})


@pytest.fixture
def on_a_space(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SPACE_ID", "someone/graphwright")
    monkeypatch.delenv(MODEL_ENV, raising=False)


def test_the_login_shows_only_on_a_space_with_oauth() -> None:
    assert not sign_in_enabled({})
    assert not sign_in_enabled({"OAUTH_CLIENT_ID": "x"})  # not a Space
    assert not sign_in_enabled({"SPACE_ID": "a/b"})  # a Space without `hf_oauth: true`
    assert sign_in_enabled({"SPACE_ID": "a/b", "OAUTH_CLIENT_ID": "x", "SYSTEM": "spaces"})  # on the Hub
    assert sign_in_enabled({"SPACE_ID": "a/b", "OAUTH_CLIENT_ID": "x", "HF_TOKEN": "hf_x"})  # Gradio's local mock
    assert not sign_in_enabled({"SPACE_ID": "a/b", "OAUTH_CLIENT_ID": "x"})  # the mock would have no account


def test_a_signed_in_visitor_is_their_hugging_face_name_and_keeps_their_token_hidden() -> None:
    session = adopt_user(Session(), _oauth("ada"))
    assert session.owner_id == "hf:ada" and session.hf_token == VISITOR_TOKEN
    assert VISITOR_TOKEN not in repr(session) and VISITOR_TOKEN not in str(session)
    expired = adopt_user(Session(), _oauth("ada", expires_in=-10))
    assert expired.owner_id.startswith("anon-") and not expired.hf_token
    assert adopt_user(Session(), SimpleNamespace(username="bob", session={})).owner_id == "user:bob"


def test_the_visitors_token_pays_for_their_calls_so_only_concurrency_applies(data_dir: Path) -> None:
    services = AppServices(data_dir=data_dir, base_credentials=Credentials(keys={"huggingface": OWNER_TOKEN}))
    anonymous, ada = Session(), adopt_user(Session(), _oauth("ada"))
    assert services.credentials_for(anonymous).key_for("huggingface") == OWNER_TOKEN
    assert not services.visitor_for(anonymous).own_key  # the owner's token: the Space's quotas apply
    assert services.credentials_for(ada).key_for("huggingface") == VISITOR_TOKEN
    visitor = services.visitor_for(ada)
    assert visitor.signed_in and visitor.own_key and visitor.owner_id == "hf:ada"


def test_settings_says_whose_token_is_used(data_dir: Path, on_a_space: None) -> None:
    services = AppServices(data_dir=data_dir, base_credentials=Credentials(keys={"huggingface": OWNER_TOKEN}))
    anonymous, ada = Session(), adopt_user(Session(), _oauth("ada"))
    assert "the Space owner's token" in keys_markdown(services, anonymous)
    text = keys_markdown(services, ada)
    assert "your own Hugging Face account** (ada" in text and "your Hugging Face sign-in (ada)" in text
    assert VISITOR_TOKEN not in text and OWNER_TOKEN not in text and VISITOR_TOKEN[-4:] not in text
    assert "only *concurrent runs* applies" in text  # the Space has no other key ada's runs could use
    mixed = AppServices(data_dir=data_dir, base_credentials=Credentials(
        keys={"huggingface": OWNER_TOKEN, "openai": "sk-operator-0123456789abcdef"}))
    assert "only *concurrent runs*" not in keys_markdown(mixed, ada)  # the owner's OpenAI key: quotas apply
    keyless = AppServices(data_dir=data_dir, base_credentials=Credentials())
    assert "offline synthetic model" in keys_markdown(keyless, anonymous)


def test_on_a_space_with_a_token_the_default_is_an_inference_providers_model(
        data_dir: Path, on_a_space: None, monkeypatch: pytest.MonkeyPatch) -> None:
    keyless = AppServices(data_dir=data_dir, base_credentials=Credentials())
    assert keyless.default_model(Session()) == OFFLINE_MODEL  # no token: the offline model, as before
    assert keyless.default_model(adopt_user(Session(), _oauth("ada"))) == HOSTED_DEFAULT
    monkeypatch.setenv(MODEL_ENV, "huggingface/meta-llama/Llama-3.2-3B-Instruct")
    assert keyless.default_model(adopt_user(Session(), _oauth("ada"))) == "huggingface/meta-llama/Llama-3.2-3B-Instruct"
    monkeypatch.setenv(MODEL_ENV, "openai/gpt-4o")  # not an Inference Providers model: the default stays
    assert keyless.default_model(adopt_user(Session(), _oauth("ada"))) == HOSTED_DEFAULT


def test_off_a_space_nothing_changes(data_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SPACE_ID", raising=False)
    services = AppServices(data_dir=data_dir, base_credentials=Credentials(keys={"huggingface": OWNER_TOKEN}))
    assert services.default_model(Session()) == OFFLINE_MODEL
    assert "Inference Providers" not in keys_markdown(services, Session())


def test_a_signed_in_visitor_claims_this_browsers_runs_once(data_dir: Path, on_a_space: None) -> None:
    with HistoryStore.open(data_dir, mlflow=False) as store:
        services = AppServices(data_dir=data_dir, history=store, quotas=Quotas(store, LIMITS))
        ada = adopt_user(Session(), _oauth("ada"))
        earlier = ada.owner  # the anonymous id this browser kept
        record_all(store, run_events("r1", owner=earlier))
        store.flush(10)
        assert "1 run(s) from before you signed in" in account_markdown(services, ada)
        md, button, session, kept = claim(services, ada)
        assert kept == session.owner != earlier and kept.startswith("anon-")  # the browser forgets the old id
        assert button["visible"] is False and "from before you signed in" not in md
        owner = store.read_cursor().execute("SELECT owner FROM runs WHERE run_id = 'r1'").fetchone()[0]
        assert owner == "hf:ada"


def test_off_a_space_the_app_has_no_login(data_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from ui.app import build_app

    monkeypatch.delenv("SPACE_ID", raising=False)
    monkeypatch.setenv("OAUTH_CLIENT_ID", "x")
    services = AppServices(data_dir=data_dir)
    demo = build_app(services)
    assert not demo.expects_oauth  # no LoginButton: Gradio mounts no OAuth routes
    demo.close()
