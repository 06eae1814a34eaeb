"""What a page has in the browser's storage, read the way a reload reads it.

`at_sight` answers "what would a reload get if the visitor pressed F5 the moment this showed?": a
script in the page copies the stored value on the first frame that paints the text (no waiting on
anything the page does afterwards). `reopen` then loads the app again in the same browser with
exactly that value stored. `decrypt` opens Gradio's `BrowserState` values (their secret is sent to
the page, so anyone with the browser can), to check what is kept in clear terms.
"""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Callable
from typing import Any

# Copies localStorage[key] on the first animation frame whose `selector` shows `text`.
_WATCH_JS = """([key, selector, text]) => {
  window.gwAtSight = undefined;
  const look = () => {
    const shown = document.querySelector(selector);
    if (shown && shown.textContent.includes(text)) window.gwAtSight = localStorage.getItem(key);
    else requestAnimationFrame(look);
  };
  requestAnimationFrame(look);
}"""


def at_sight(page: Any, key: str, selector: str, text: str, action: Callable[[], None]) -> str | None:
    """Do `action`; return what localStorage held under `key` on the frame that first showed `text`."""
    page.evaluate(_WATCH_JS, [key, selector, text])
    action()
    page.wait_for_function("window.gwAtSight !== undefined")
    return page.evaluate("window.gwAtSight")


def reopen(page: Any, url: str, key: str, stored: str | None) -> Any:
    """Close `page` and load the app again in the same browser, with `stored` under `key` (as a reload
    at that moment would find it). Returns the new page."""
    context = page.context
    page.close()
    again = context.new_page()
    again.set_default_timeout(30_000)
    again.add_init_script(f"(() => {{ const [k, v] = {json.dumps([key, stored])};"
                          " if (v === null) localStorage.removeItem(k); else localStorage.setItem(k, v); })()")
    again.goto(url)
    return again


def decrypt(stored: str, secret: str) -> Any:
    """A `gr.BrowserState` value: `iv:ciphertext`, CryptoJS AES with the passphrase sha256(secret)
    (OpenSSL format: `Salted__`, salt, then data; key and iv come from MD5 EVP_BytesToKey)."""
    from cryptography.hazmat.primitives import padding
    from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

    raw = base64.b64decode(stored.split(":", 1)[1])
    assert raw[:8] == b"Salted__", "CryptoJS's passphrase format"
    salt, data = raw[8:16], raw[16:]
    passphrase = hashlib.sha256(secret.encode()).hexdigest().encode()
    derived, block = b"", b""
    while len(derived) < 48:
        block = hashlib.md5(block + passphrase + salt).digest()  # noqa: S324 - CryptoJS's key derivation
        derived += block
    decryptor = Cipher(algorithms.AES(derived[:32]), modes.CBC(derived[32:48])).decryptor()
    unpadder = padding.PKCS7(128).unpadder()
    plain = unpadder.update(decryptor.update(data) + decryptor.finalize()) + unpadder.finalize()
    return json.loads(plain)


def local_storage(page: Any) -> dict[str, str]:
    return page.evaluate("() => Object.fromEntries(Object.entries(localStorage))")
