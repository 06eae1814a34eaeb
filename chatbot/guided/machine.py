"""The guided interview: a deterministic form for when no model is configured (or wanted).

It is honest about being a form. First it offers the patterns (one per example); then it asks that pattern's
questions one at a time, each with a default, and rebuilds the draft after every answer so the
YAML grows as the user goes. "back" returns to the previous question, "restart" starts over, and
the final "yes" hands over a validated, commented config.
"""

from __future__ import annotations

from chatbot import draft as drafts
from chatbot.errors import DraftError, InputRejected
from chatbot.guard import screen
from chatbot.guided.patterns import PATTERNS, Pattern, find_pattern, match_pattern, questions_for
from chatbot.guided.questions import BACK, RESTART, AnswerError, accepts
from chatbot.state import KEY_REMOVED, ChatState, GuidedState, TurnResult
from chatbot.turns import OFFLINE_MODEL, finish

INTRO = (
    "Guided mode (no AI model configured) — this is a form, not a conversation: I'll ask a few short "
    "questions, each with a default you can accept with “yes”. Say “back” to change the previous "
    "answer and “restart” to begin again. You can also edit the YAML directly at any time."
)


def start_guided(state: ChatState) -> TurnResult:
    """Switch `state` to the guided form and ask the first question."""
    state.mode, state.guided = "guided", GuidedState()
    return finish(state, state.draft_yaml, f"{INTRO}\n\n{_pattern_menu()}")


def guided_turn(state: ChatState, user_text: str, *, default_model: str = OFFLINE_MODEL,
                known: tuple[str, ...] = ()) -> TurnResult:
    """Read one answer, move the form on, and rebuild the draft from the answers so far."""
    before = state.draft_yaml
    fresh = state.guided is None
    if state.guided is None:
        state.guided = GuidedState()
    state.mode = "guided"
    form = state.guided
    try:
        screen(user_text, known=known)
    except InputRejected as exc:
        keyed = exc.args[0].startswith("That looks like an API key")
        if keyed:
            state.add("user", KEY_REMOVED)
        return finish(state, before, str(exc), errors=[] if keyed else [str(exc)], default_model=default_model,
                      record=keyed)
    state.add("user", user_text)
    word = user_text.strip().lower().rstrip(".!")
    if word in RESTART:
        state.guided = GuidedState()
        return finish(state, before, f"Starting over.\n\n{_pattern_menu()}", default_model=default_model)
    pattern = find_pattern(form.pattern)
    if pattern is None:
        result = _choose_pattern(state, form, user_text, before, default_model)
        if fresh:  # the form was not introduced yet: say what it is first
            result.reply = state.messages[-1].content = f"{INTRO}\n\n{result.reply}"
        return result
    if form.done:
        reply = ("The config is ready: review it, run it, or edit the YAML. Say “back” to change the last "
                 "answer or “restart” to build another.")
        if word in BACK:
            form.done = False
            form.position = len(questions_for(pattern)) - 1
            reply = _ask(pattern, form)
        return finish(state, before, reply, default_model=default_model)
    if word in BACK:
        return _back(state, form, pattern, before, default_model)
    question = questions_for(pattern)[form.position]
    if question.kind == "confirm" and accepts(user_text):
        return _complete(state, form, pattern, before, default_model)
    try:
        form.answers[question.key] = question.read(user_text)
    except AnswerError as exc:
        return finish(state, before, f"{exc}\n\n{_ask(pattern, form)}", default_model=default_model)
    form.trail.append(form.position)
    form.position += 1
    errors = _rebuild(state, pattern, form)
    return finish(state, before, _ask(pattern, form), errors=errors, default_model=default_model)


def _choose_pattern(state: ChatState, form: GuidedState, text: str, before: str, default_model: str) -> TurnResult:
    number = text.strip().rstrip(".")
    choice: Pattern | None = None
    if accepts(text):
        choice = PATTERNS[0]
    elif number.isdigit() and 1 <= int(number) <= len(PATTERNS):
        choice = PATTERNS[int(number) - 1]
    else:
        choice = match_pattern(text)
    if choice is None:
        return finish(state, before, "I could not tell which of these patterns that describes. Answer with a "
                      f"number from 1 to {len(PATTERNS)} or a name such as “review loop”.\n\n{_pattern_menu()}",
                      default_model=default_model)
    form.pattern, form.position, form.answers, form.trail, form.done = choice.key, 0, {}, [], False
    errors = _rebuild(state, choice, form)
    return finish(state, before, f"{choice.title}: {choice.summary}.\n\n{_ask(choice, form)}", errors=errors,
                  default_model=default_model)


def _back(state: ChatState, form: GuidedState, pattern: Pattern, before: str, default_model: str) -> TurnResult:
    if not form.trail:
        state.guided = GuidedState()
        return finish(state, before, f"Back to the choice of pattern.\n\n{_pattern_menu()}", default_model=default_model)
    form.position = form.trail.pop()
    form.answers.pop(questions_for(pattern)[form.position].key, None)
    errors = _rebuild(state, pattern, form)
    return finish(state, before, _ask(pattern, form), errors=errors, default_model=default_model)


def _complete(state: ChatState, form: GuidedState, pattern: Pattern, before: str, default_model: str) -> TurnResult:
    errors = _rebuild(state, pattern, form)
    if errors:
        return finish(state, before, "The answers do not make a valid config yet; say “back” to change them.",
                      errors=errors, default_model=default_model)
    form.done = True
    reply = ("Done — the config is valid and ready to run. Read it on the right; every section has a comment. "
             "Say “back” to change the last answer or “restart” to build another.")
    return finish(state, before, reply, default_model=default_model)


def _rebuild(state: ChatState, pattern: Pattern, form: GuidedState) -> list[str]:
    """Build the draft from the answers (defaults for the rest); keep the last valid one on failure."""
    answers = {q.key: q.default for q in questions_for(pattern)}
    answers.update(form.answers)
    try:
        config = pattern.build(answers)
        base = state.draft_yaml if _same_pattern(state.draft_yaml, config) else ""
        proposal = drafts.propose(config, base_text=base, before=None)
    except DraftError as exc:
        return exc.problems
    state.draft_yaml = state.last_valid_yaml = proposal.yaml if base else _with_header(proposal.yaml, pattern)
    return []


def _same_pattern(draft_yaml: str, config: dict) -> bool:
    """Render onto the current draft (keeping the user's comments) only while it is this workflow."""
    return f"\nname: {config['name']}\n" in draft_yaml


def _with_header(yaml_text: str, pattern: Pattern) -> str:
    """A first comment saying where the config came from, below the schema modeline."""
    header = f"# Built with the guided form: {pattern.title} ({pattern.summary}).\n"
    first, _, rest = yaml_text.partition("\n")
    if first.startswith("# yaml-language-server:"):
        return f"{first}\n{header}{rest}"
    return header + yaml_text


def _ask(pattern: Pattern, form: GuidedState) -> str:
    questions = questions_for(pattern)
    number = f"Question {form.position + 1} of {len(questions)}: "
    return number + questions[form.position].ask()


def _pattern_menu() -> str:
    lines = [f"{i}. **{p.title}** — {p.summary}" for i, p in enumerate(PATTERNS, start=1)]
    return "Which pattern fits best?\n" + "\n".join(lines) + "\n(default: **1** — answer with a number or a name)"
