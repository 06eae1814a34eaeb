"""The guided interview (no model needed): `start_guided`, `guided_turn`, and its patterns."""

from chatbot.guided.machine import INTRO, guided_turn, start_guided
from chatbot.guided.patterns import PATTERNS

__all__ = ["INTRO", "PATTERNS", "guided_turn", "start_guided"]
