"""Download folders: one per visitor, named by a hash, private to the app's user, expired (issue 14, item 14)."""

from __future__ import annotations

import os
import stat
import time
from pathlib import Path

from ui.downloads import TTL_S, owner_folder, root


def test_each_visitor_gets_a_private_folder_named_by_a_hash() -> None:
    alice, bob = "anon-" + "a" * 32, "user:bob"
    a, b = owner_folder(alice), owner_folder(bob)
    assert a != b and a.parent == b.parent == root()
    assert alice not in str(a) and "bob" not in str(b)  # the owner token is a credential
    for path in (root(), a, b):
        assert stat.S_IMODE(path.stat().st_mode) == 0o700
    assert owner_folder(alice) == a  # the same visitor gets the same folder back


def test_folders_untouched_for_an_hour_are_removed() -> None:
    old = owner_folder("anon-" + "c" * 32)
    (old / "runs.csv").write_text("x")
    hour_ago = time.time() - TTL_S - 5
    os.utime(old, (hour_ago, hour_ago))
    fresh = owner_folder("anon-" + "d" * 32)
    assert not old.exists() and fresh.exists()


def test_the_design_tabs_yaml_download_lands_in_the_visitors_private_folder() -> None:
    from ui.design_tab import _download_update
    from ui.session import Session

    session = Session()
    session.chat.draft_yaml = "version: 1\n"
    path = Path(_download_update(session)["value"])
    assert path.parent == owner_folder(session.owner_id) and session.owner not in str(path)
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
