"""One question of the guided form: its wording, default, and how a short answer is read.

Answers are short and forgiving: "yes"/"ok"/empty accept the default, "skip" keeps it (or leaves
an optional value unset), numbers and comma-separated lists are understood, and names are turned
into valid identifiers ("Fact Checker" → `fact_checker`). A bad answer raises `AnswerError` with a
message saying what to write.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

from pydantic import TypeAdapter, ValidationError

from schemas.models import ArtifactName, ModelName

Kind = Literal["name", "slug", "text", "int", "float", "names", "model", "url", "secret", "filename", "confirm"]
ACCEPT = frozenset({"", "y", "yes", "ok", "okay", "sure", "default", "fine", "yep", "👍"})
SKIP = frozenset({"skip", "none", "no model", "-"})
BACK = frozenset({"back", "go back", "previous", "undo"})
RESTART = frozenset({"restart", "start over", "reset", "new"})
_MODEL = TypeAdapter(ModelName)
_POLITE = frozenset({"please", "thanks", "thank", "you", "good", "great", "that", "that's", "is", "it", "the",
                     "go", "ahead", "sounds", "works", "perfect", "keep", "use", "build", "do", "make", "one"})
_NUMBER = re.compile(r"\$?\d+(?:[.,]\d+)?")
_MODEL_WORD = re.compile(r"\b[a-z][\w.-]*/[\w.:/-]+", re.IGNORECASE)
_URL = re.compile(r"https?://\S+")
_FILLER = re.compile(r"^\s*(?:(?:an?|the|one|first|then|next|finally|and|agents?)\s+)+", re.IGNORECASE)
_MAX_NAME_WORDS = 6
_FILENAME = TypeAdapter(ArtifactName)


class AnswerError(ValueError):
    """An answer the question cannot use; the message says what to write instead."""


@dataclass(frozen=True)
class Question:
    """A question with a default; `low`/`high` bound numbers and list lengths."""

    key: str
    prompt: str
    default: str
    kind: Kind = "text"
    low: float = 1
    high: float = 100

    def ask(self) -> str:
        shown = self.default if self.default else "skip"
        return f"{self.prompt}\n(default: **{shown}** — say “yes” to accept, “back” to go back)"

    def read(self, answer: str) -> str:
        """The normalised answer (as text, as the state stores it); raises AnswerError.

        Free text is read for what the question needs (the number in "at most 4 rounds", the model
        in "use openai/gpt-4o-mini"); what cannot be read says what the question expects.
        """
        text = answer.strip()
        if accepts(text) or text.lower().rstrip(".!") in SKIP:
            text = self.default
        else:
            text = self._pick(text)
        if not text and self.kind in ("model", "filename"):
            return ""  # no model: the one chosen in Settings is used; no file: none is written
        match self.kind:
            case "name":
                return to_identifier(text)
            case "slug":
                slug = re.sub(r"[^a-z0-9_-]+", "-", text.lower()).strip("-_")[:64]
                if not slug or not slug[0].isalnum():
                    raise AnswerError("Please give a short name made of letters, digits and dashes.")
                return slug
            case "int" | "float":
                return self._number(text)
            case "names":
                names = [to_identifier(part) for part in re.split(r"[,;\n]| and ", text) if part.strip()]
                if not self.low <= len(names) <= self.high:
                    raise AnswerError(f"Please list between {int(self.low)} and {int(self.high)} names, separated by commas.")
                if len(set(names)) != len(names):
                    raise AnswerError("Please give each one a different name.")
                return ", ".join(names)
            case "model":
                try:
                    return _MODEL.validate_python(text)
                except ValidationError:
                    raise AnswerError(
                        "That is not a model name. Write a LiteLLM model such as `openai/gpt-4o-mini` "
                        "or `ollama_chat/llama3.2`, or say “skip”."
                    ) from None
            case "filename":
                try:
                    return _FILENAME.validate_python(text)
                except ValidationError:
                    raise AnswerError("Please give a plain file name such as `report.md` (letters, digits, `-`, `_` "
                                      "and one extension; no folders), or say “skip”.") from None
            case "url":
                if not re.fullmatch(r"https?://[^\s]+", text) or len(text) > 500:
                    raise AnswerError("Please give a URL pattern starting with https:// or http://, "
                                      "e.g. `https://api.example.com/v1/*`.")
                return text
            case "secret":  # a secret's *name*; empty: none
                name = re.sub(r"[\s-]+", "_", text.strip()).upper()
                if name and not re.fullmatch(r"[A-Z][A-Z0-9_]{1,63}", name):
                    raise AnswerError("Give the secret's name (not its value!), such as `SERPER_API_KEY`, "
                                      "or say “skip”.")
                return name
            case "confirm":
                raise AnswerError("Say “yes” to build it, or “back” to change an answer.")
        if not text:
            raise AnswerError("Please type an answer, or say “yes” for the default.")
        return text[:2000]

    def _pick(self, text: str) -> str:
        """The part of a sentence that answers this question (the text itself when nothing narrower fits)."""
        found: list[str] = []
        match self.kind:
            case "int" | "float":
                found = _NUMBER.findall(text)
            case "model":
                found = _MODEL_WORD.findall(text)
            case "url":
                found = _URL.findall(text)
            case "name" | "slug" if len(text.split()) > _MAX_NAME_WORDS:
                raise AnswerError(f"Please give a short name of a few words, e.g. `{self.default}`, "
                                  "or say “yes” to keep it.")
            case "names":
                parts = [p for p in re.split(r"[,;\n]| and | then ", text) if p.strip()]
                found = [", ".join(_FILLER.sub("", p).strip() for p in parts)] if parts else []
        return found[0].rstrip(".,;") if len(found) == 1 else text

    def _number(self, text: str) -> str:
        try:
            value = float(text.replace("$", "").replace(",", "").strip())
        except ValueError:
            raise AnswerError(f"Please answer with a number between {self.low:g} and {self.high:g}.") from None
        if not self.low <= value <= self.high:
            raise AnswerError(f"Please answer with a number between {self.low:g} and {self.high:g}.")
        return str(int(value)) if self.kind == "int" else f"{value:g}"


def accepts(text: str) -> bool:
    """“yes”, “ok”, “yes please”, “sounds good”: keep the proposed answer."""
    words = re.findall(r"[\w']+|👍", text.lower())
    return not words or words[0] in ACCEPT and all(w in ACCEPT or w in _POLITE for w in words)


def to_identifier(text: str) -> str:
    """A config identifier from a human name; raises AnswerError when nothing usable is left."""
    name = re.sub(r"[^a-z0-9]+", "_", text.strip().lower()).strip("_")[:64]
    if name and not name[0].isalpha():
        name = f"n_{name}"[:64]
    if not name:
        raise AnswerError("Please give a name made of letters (digits and spaces are fine too).")
    return name


def names(value: str) -> list[str]:
    """The list stored by a `names` question."""
    return [part.strip() for part in value.split(",") if part.strip()]
