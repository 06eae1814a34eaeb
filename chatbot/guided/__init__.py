"""The guided interview (no model needed): `start_guided`, `guided_turn`, and the eight patterns."""

from chatbot.guided.machine import INTRO, guided_turn, start_guided
from chatbot.guided.patterns import PATTERNS

__all__ = ["INTRO", "PATTERNS", "guided_turn", "start_guided"]
