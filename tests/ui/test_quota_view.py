"""Settings shows the visitor's quotas; who counts as signed in and who brings their own key."""

from __future__ import annotations

from pathlib import Path

from history.quotas import QuotaLimits, Quotas
from history.store import HistoryStore
from orchestrator.credentials import Credentials
from ui.services import AppServices
from ui.session import Session
from ui.settings_tab import quotas_markdown

LIMITS = {"anonymous": QuotaLimits(2, 3, 1_000, 0.10), "signed_in": QuotaLimits(4, 30, 10_000, 1.0)}


def test_settings_lists_each_quota_with_what_is_left(data_dir: Path) -> None:
    with HistoryStore.open(data_dir, mlflow=False) as store:
        services = AppServices(data_dir=data_dir, history=store, quotas=Quotas(store, LIMITS),
                               base_credentials=Credentials(keys={"openai": "sk-operator-0123456789abcdef"}))
        session = Session()
        with services.quotas.admit(services.visitor_for(session), "r1"):
            text = quotas_markdown(services, session)
        assert "(anonymous visitor)" in text
        assert "- concurrent runs: 1 of 2 used, 1 left" in text
        assert "- runs per hour: 1 of 3 used, 2 left, resets at" in text
        assert "- tokens per day: 0 of 1,000 used" in text and "- cost per day: $0.00 of $0.10 used" in text
        session.user = "ann"
        assert "(signed-in visitor)" in quotas_markdown(services, session)


def test_own_key_means_every_operator_key_is_replaced(data_dir: Path) -> None:
    operator = Credentials(keys={"openai": "sk-operator-0123456789abcdef", "anthropic": "sk-ant-operator-0123456789"})
    services = AppServices(data_dir=data_dir, base_credentials=operator)
    session = Session()
    assert not services.visitor_for(session).own_key
    session.settings.keys["openai"] = "sk-visitor-0123456789abcdef"
    assert not services.visitor_for(session).own_key  # anthropic calls would still use the operator's key
    session.settings.keys["anthropic"] = "sk-ant-visitor-0123456789"
    assert services.visitor_for(session).own_key
    assert "only *concurrent runs* applies" in quotas_markdown(services, session)
