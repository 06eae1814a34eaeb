"""Sign in with Hugging Face on a Space, and claim the runs this browser made before signing in.

The login button exists only where the platform provides OAuth: a Space with `hf_oauth: true` in its
front matter (the Hub then sets `OAUTH_CLIENT_ID`). Anywhere else the app runs as before, with no
login shown (Gradio would otherwise mount its OAuth routes). Signed in, the visitor's owner id is
`hf:<name>` (`ui.session`); their earlier anonymous runs stay with the browser's anonymous id until
they claim them with the button, once (`history.claims`).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import gradio as gr

from ui.funnel import UserFacingError, funnel
from ui.services import AppServices
from ui.session import Session, new_owner


def sign_in_enabled(environ: Mapping[str, str] | None = None) -> bool:
    """A Space whose OAuth is turned on: `SPACE_ID` and `OAUTH_CLIENT_ID` are both set by the Hub.

    Off the Hub (no `SYSTEM=spaces`) Gradio mocks the sign-in with the account of `HF_TOKEN`, which it
    looks up at start-up: without that token the login is not offered rather than failing to start.
    """
    env = os.environ if environ is None else environ
    if not (env.get("SPACE_ID", "").strip() and env.get("OAUTH_CLIENT_ID", "").strip()):
        return False
    return env.get("SYSTEM") == "spaces" or bool(env.get("HF_TOKEN", "").strip())


@dataclass
class AccountBar:
    status: gr.Markdown
    claim: gr.Button
    claimed: Any = None  # the claim's event: what lists the visitor's runs follows it

    @property
    def outputs(self) -> list[Any]:
        return [self.status, self.claim]


def _claimable(services: AppServices, session: Session) -> int:
    from history.claims import claimable_runs

    if not session.hf_signed_in or services.history is None:
        return 0
    return claimable_runs(services.history, session.owner)


def account_markdown(services: AppServices, session: Session) -> str:
    """Who the visitor is to this app, and what signing in (or claiming) does."""
    if session.hf_signed_in:
        text = (f"Signed in as **{session.user}** (Hugging Face): your runs, history and quotas follow your "
                "account, and models from Inference Providers run on your own Hugging Face account.")
        waiting = _claimable(services, session)
        if waiting:
            text += (f" This browser has {waiting} run(s) from before you signed in: claim them to keep them "
                     "under your account (once; they then leave this browser's anonymous history).")
        return text
    return ("Not signed in: your runs belong to this browser. Sign in with Hugging Face to keep them under your "
            "account, get the signed-in quotas and run Inference Providers models on your own account.")


def refresh(services: AppServices, session: Session) -> tuple[Any, ...]:
    return account_markdown(services, session), gr.update(visible=_claimable(services, session) > 0)


def claim(services: AppServices, session: Session) -> tuple[Any, ...]:
    """Move this browser's anonymous runs to the signed-in account; the browser then gets a fresh
    anonymous id, so the same runs can never be claimed twice (the history refuses it too)."""
    from history.claims import claim_anonymous_runs

    if not session.hf_signed_in:
        raise UserFacingError("Sign in with Hugging Face first: runs are claimed into your account.")
    if services.history is None:
        raise UserFacingError("This app keeps no history, so there is nothing to claim.")
    moved = claim_anonymous_runs(services.history, services.data_dir, session.owner, session.owner_id)
    session.owner = new_owner()
    gr.Info(f"{moved} run(s) are now under your account, {session.user}.")
    return (*refresh(services, session), session, session.owner)


def build(services: AppServices, session_state: gr.State, kept_owner: gr.BrowserState) -> AccountBar | None:
    """The login row (only where sign-in is enabled); None elsewhere."""
    if not sign_in_enabled():
        return None
    with gr.Row(elem_id="gw-account", equal_height=True):
        gr.LoginButton(elem_id="hf-login", size="sm", scale=0, min_width=220)
        status = gr.Markdown(elem_id="account-status")
        button = gr.Button("Claim my earlier runs", visible=False, size="sm", scale=0, min_width=200,
                           elem_id="claim-runs")
    bar = AccountBar(status=status, claim=button)
    bar.claimed = button.click(funnel(lambda session: claim(services, session)), [session_state],
                 [*bar.outputs, session_state, kept_owner], api_visibility="private")
    return bar
