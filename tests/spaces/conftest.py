"""Space tests share the hardening suite's headless Chromium."""

from tests.hardening.conftest import browser  # noqa: F401 - a fixture, found by name
