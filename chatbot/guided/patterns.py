"""The patterns the guided form can build, one per example, each from a few answers.

A pattern is its questions plus a `build` function from answers to a config dict; everything the
config needs beyond the answers is a sensible default. The machine asks `COMMON_FIRST`, then the
pattern's own questions, then `COMMON_LAST`, and validates what `build` returns like any other draft.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any
from urllib.parse import urlsplit

from chatbot.guided.questions import Question, names
from schemas.models import CURRENT_VERSION

Answers = dict[str, str]
Config = dict[str, Any]


@dataclass(frozen=True)
class Pattern:
    key: str
    title: str
    summary: str
    name: str  # default workflow name
    input: str  # default input name
    sample: str  # the input's proposed default: a run works on the first click
    questions: tuple[Question, ...]
    build: Callable[[Answers], Config]


def common_first(pattern: Pattern) -> tuple[Question, ...]:
    return (
        Question("name", "What should the workflow be called?", pattern.name, "slug"),
        Question("input", "What does each run start from? Name the run input.", pattern.input, "name"),
        Question("sample", "What should a run use for that input when the Run form leaves it empty? "
                 "A sample value lets you run the workflow on the first click.", pattern.sample),
    )


COMMON_LAST = (
    Question("model", "Which model should the agents use? A LiteLLM model such as `openai/gpt-4o-mini`; "
             "“skip” uses the model chosen in Settings.", "", "model"),
    Question("budget", "Spending cap per run, in US dollars?", "0.5", "float", 0, 100),
    Question("confirm", "That's everything. Build this config?", "yes", "confirm"),
)


def _title(name: str) -> str:
    return name.replace("_", " ").capitalize()


def _agent(name: str, goal: str, instructions: str = "", **extra: Any) -> Config:
    return {"role": _title(name), "goal": goal, "instructions": instructions, **extra}


def _step(step_id: str, agent: str, prompt: str) -> Config:
    return {"id": step_id, "type": "agent", "agent": agent, "prompt": prompt}


def _workflow(a: Answers, description: str, agents: Config, steps: list[Config], **extra: Any) -> Config:
    config: Config = {
        "version": CURRENT_VERSION,
        "name": a["name"],
        "description": description,
        "inputs": {a["input"]: {"type": "text", "description": f"The {a['input'].replace('_', ' ')} for this run.",
                                "default": a["sample"]}},
    }
    if a.get("model"):
        config["default_model"] = a["model"]
    config.update(agents=agents, **extra, steps=steps, limits={"max_cost_usd": float(a.get("budget") or 0.5)})
    return config


def _sequential(a: Answers) -> Config:
    team = names(a["agents"])
    agents = {n: _agent(n, f"Do the {_title(n).lower()} part of the job well.") for n in team}
    agents[team[-1]]["goal"] = f"Produce {a['goal']}."
    steps = [_step(team[0], team[0], f"Work on: {{{{ inputs.{a['input']} }}}}")]
    for prev, name in zip(team, team[1:], strict=False):
        steps.append(_step(name, name, f"Topic: {{{{ inputs.{a['input']} }}}}\n\nBuild on this:\n{{{{ steps.{prev}.output }}}}"))
    if a.get("save_as"):
        steps[-1]["artifact"] = {"name": a["save_as"]}
    return _workflow(a, f"Agents work one after another to produce {a['goal']}.", agents, steps)


def _parallel(a: Answers) -> Config:
    angles = names(a["angles"])
    agents = {
        "analyst": _agent("analyst", "Research one angle of a topic thoroughly and concisely."),
        "writer": _agent("writer", f"Combine the research into {a['goal']}."),
    }
    branches = [_step(f"research_{x}", "analyst", f"Research the {x.replace('_', ' ')} angle of: "
                      f"{{{{ inputs.{a['input']} }}}}") for x in angles]
    findings = "\n\n".join(f"{_title(x)}:\n{{{{ steps.research_{x}.output }}}}" for x in angles)
    steps = [{"id": "research", "type": "parallel", "branches": branches},
             _step("combine", "writer", f"Write {a['goal']} about {{{{ inputs.{a['input']} }}}} from:\n\n{findings}")]
    return _workflow(a, "Researches several angles at the same time, then combines them.", agents, steps)


def _router(a: Answers) -> Config:
    labels = names(a["routes"])
    agents = {f"{x}_agent": _agent(f"{x}_agent", f"Handle {x.replace('_', ' ')} requests.") for x in labels}
    cases = [{"when": x, "steps": [_step(f"handle_{x}", f"{x}_agent", f"Answer this request:\n{{{{ inputs.{a['input']} }}}}")]}
             for x in labels]
    route = {"id": "triage", "type": "route", "classify": {"prompt": f"What kind of request is this?\n{{{{ inputs.{a['input']} }}}}"},
             "cases": cases, "default": []}
    return _workflow(a, "Classifies each request and sends it to the right specialist.", agents, [route])


def _review_loop(a: Answers) -> Config:
    writer, reviewer = a["writer"], a["reviewer"]
    agents = {
        writer: _agent(writer, "Write a draft that meets the criteria.", f"Criteria: {a['criteria']}."),
        reviewer: _agent(reviewer, "Decide whether a draft meets the criteria and say what to fix.",
                         f"Approve only drafts that are {a['criteria']}.",
                         output={"approved": {"type": "boolean", "description": "True when the draft meets the criteria."},
                                 "feedback": {"type": "string", "description": "What to change, if anything."}}),
    }
    draft = (f"Write about {{{{ inputs.{a['input']} }}}}. This is attempt {{{{ loop.iteration }}}}.\n"
             "Your previous draft (empty on the first attempt): {{ loop.previous.draft.output }}\n"
             "The reviewer's feedback on it: {{ loop.previous.review.output.feedback }}")
    body = [_step("draft", writer, draft),
            _step("review", reviewer, f"Review this draft against the criteria ({a['criteria']}):\n{{{{ steps.draft.output }}}}")]
    loop = {"id": "revise", "type": "loop", "steps": body, "until": "steps.review.output.approved == true",
            "max_iterations": int(a["max_iterations"])}
    final = _step("final", writer, "Polish the last draft:\n{{ steps.draft.output }}")
    return _workflow(a, "Writes a draft and has it reviewed until it is approved.", agents, [loop, final])


def _approval(a: Answers) -> Config:
    writer = a["writer"]
    agents = {writer: _agent(writer, "Write a clear, publishable draft.")}
    steps = [_step("draft", writer, f"Write a draft about {{{{ inputs.{a['input']} }}}}."),
             {"id": "approve", "type": "approval", "message": f"{a['message']}\n\n{{{{ steps.draft.output }}}}",
              "on_reject": "stop"},
             {"id": "notes", "type": "ask", "question": a["question"]},
             _step("final", writer, "Polish the approved draft for publication, taking in these notes "
                   "({{ steps.notes.output }}):\n{{ steps.draft.output }}")]
    return _workflow(a, "Drafts, waits for a person's approval, then finalises.", agents, steps)


def _supervisor(a: Answers) -> Config:
    workers = names(a["workers"])
    agents = {"manager": _agent("manager", "Plan the task, delegate parts to the team and assemble the answer.")}
    agents.update({w: _agent(w, f"Do the {_title(w).lower()} work the manager asks for.") for w in workers})
    step = {"id": "lead", "type": "supervisor", "manager": "manager", "workers": workers,
            "task": f"{a['task']}\n\n{{{{ inputs.{a['input']} }}}}", "max_delegations": int(a["max_delegations"])}
    if "shared" in a.get("conversation", "").lower():
        step["conversation"] = "shared"
    return _workflow(a, "A manager delegates sub-tasks to a team of agents.", agents, [step])


def _map(a: Answers) -> Config:
    agents = {
        "planner": _agent("planner", "Split a subject into a short list of sub-topics.",
                          output={"items": {"type": "list", "description": "The sub-topics, one per item."}}),
        "worker": _agent("worker", f"{a['item_job']}."),
        "writer": _agent("writer", "Combine the pieces into one coherent answer."),
    }
    steps = [_step("plan", "planner", f"List the sub-topics of: {{{{ inputs.{a['input']} }}}}"),
             {"id": "each", "type": "map", "over": "{{ steps.plan.output.items }}", "as": "item",
              "steps": [_step("piece", "worker", f"{a['item_job']}: {{{{ item }}}}")], "max_items": int(a["max_items"])},
             _step("combine", "writer", "Combine these into one answer:\n{{ steps.each.output }}")]
    return _workflow(a, "Plans a list of items, handles each one concurrently, then combines them.", agents, steps)


def _code_tool(a: Answers) -> Config:
    agents = {"analyst": _agent("analyst", a["task"], "Use the `python` tool for any calculation or data work; "
                                "print the result.", tools=["python"])}
    tools = {"python": {"type": "python", "description": "Runs Python code in a sandbox and returns what it prints.",
                        "timeout": float(a["timeout"])}}
    steps = [_step("solve", "analyst", f"{{{{ inputs.{a['input']} }}}}")]
    return _workflow(a, "An agent that can run Python code in a sandbox.", agents, steps, tools=tools)


def _http_tool(a: Answers) -> Config:
    tool = a["tool"]
    agents = {"reader": _agent("reader", "Summarise sources faithfully and cite them.", tools=[tool])}
    tools = {tool: {"type": "http", "description": f"Fetch pages matching {a['allow']}.", "allow": [a["allow"]]}}
    if a.get("secret"):  # the key goes by name, bound to the one host the tool may reach
        host = urlsplit(a["allow"].replace("*", "x")).hostname or ""
        tools[tool]["headers"] = {a.get("header") or "X-API-KEY": f"{{{{ secrets.{a['secret']} }}}}"}
        tools[tool]["secrets"] = {a["secret"]: [host]}
    steps = [_step("lookup", "reader", f"{a['task']}: {{{{ inputs.{a['input']} }}}}")]
    return _workflow(a, "An agent that fetches allow-listed URLs over HTTP.", agents, steps, tools=tools)


def _function_tools(a: Answers) -> Config:
    functions = names(a["functions"])
    agents = {"assistant": _agent("assistant", "Use the tools for every exact answer; never estimate.",
                                  tools=functions)}
    tools = {fn: {"type": "function", "function": fn} for fn in functions}
    steps = [_step("answer", "assistant", f"{a['task']}: {{{{ inputs.{a['input']} }}}}")]
    return _workflow(a, "An agent with Python functions installed on this server as tools.", agents, steps,
                     tools=tools)


def _screen(a: Answers) -> Config:
    agents = {
        "screener": _agent("screener", f"Decide whether a request is {a['scope']}.",
                           output={"in_scope": {"type": "boolean", "description": f"True when it is {a['scope']}."},
                                   "reason": {"type": "string", "description": "One sentence explaining why."}}),
        "helper": _agent("helper", "Answer requests helpfully and concisely."),
    }
    request = f"{{{{ inputs.{a['input']} }}}}"
    gate = {"id": "gate", "type": "route", "on": "{{ steps.screen.output.in_scope }}",
            "cases": [{"when": "true", "steps": []},  # in scope: carry on
                      {"when": "false", "steps": [{"id": "decline", "type": "end",
                                                   "output": {"answered": False, "reply": a["refusal"],
                                                              "reason": "{{ steps.screen.output.reason }}"}}]}],
            "default": []}
    steps = [_step("screen", "screener", f"Is this request {a['scope']}?\n{request}"), gate,
             _step("answer", "helper", f"Answer this request:\n{request}"),
             {"id": "result", "type": "transform",
              "value": {"answered": True, "reply": "{{ steps.answer.output }}"}}]
    return _workflow(a, "Screens each request, stops early with a polite refusal when it is out of scope, "
                     "else answers it.", agents, steps)


_GOAL = Question("goal", "What should the final result be?", "a short, well-structured brief")
PATTERNS: tuple[Pattern, ...] = (
    Pattern("sequential", "Sequential", "agents work one after another, each building on the last",
            "research-brief", "topic", "How tides work",
            (Question("agents", "Which agents, in order? (comma-separated)", "researcher, writer", "names", 1, 8), _GOAL,
             Question("save_as", "Save the final result as a file the run keeps, offered for download? Give a "
                      "name such as `report.md`, or say “skip”.", "", "filename")),
            _sequential),
    Pattern("parallel", "Parallel research", "several angles researched at the same time, then combined",
            "parallel-research", "topic", "Home solar batteries",
            (Question("angles", "Which angles should be researched in parallel?", "market, technology, risks",
                      "names", 2, 8), _GOAL), _parallel),
    Pattern("router", "Router", "a classifier sends each request to the right specialist",
            "request-router", "request", "I was charged twice for my subscription this month.",
            (Question("routes", "Which kinds of request are there?", "billing, technical, general", "names", 2, 8),),
            _router),
    Pattern("review_loop", "Review loop", "a writer drafts and a reviewer sends it back until approved",
            "reviewed-draft", "topic", "Why sleep matters",
            (Question("writer", "Name the agent that writes.", "writer", "name"),
             Question("reviewer", "Name the agent that reviews.", "reviewer", "name"),
             Question("criteria", "What must a draft be to pass review?", "clear, correct and under 300 words"),
             Question("max_iterations", "At most how many rounds of review?", "3", "int", 1, 50)),
            _review_loop),
    Pattern("approval", "Human approval", "a person approves the draft and adds notes before the workflow goes on",
            "approved-post", "topic", "Our new opening hours",
            (Question("writer", "Name the agent that writes.", "writer", "name"),
             Question("message", "What should the approver be asked?", "Please approve this draft before it is finalised."),
             Question("question", "What should the person be asked after approving (their answer goes into the "
                      "final version)?", "Anything to add or change before the final version?")),
            _approval),
    Pattern("supervisor", "Supervisor", "a manager agent delegates sub-tasks to a team",
            "team-lead", "task", "Plan a one-day team offsite for 12 people",
            (Question("workers", "Which agents are on the team?", "researcher, analyst, writer", "names", 1, 10),
             Question("task", "What is the manager's job?", "Solve the task below with the team's help"),
             Question("max_delegations", "At most how many delegations?", "5", "int", 1, 20),
             Question("conversation", "Should each worker read the whole conversation so far, the other "
                      "workers' answers included (`shared`), or only its own sub-task (`isolated`)?", "isolated")),
            _supervisor),
    Pattern("map", "Map over a list", "a list is planned, each item handled concurrently, then combined",
            "map-topics", "subject", "The history of the bicycle",
            (Question("item_job", "What should happen to each item?", "Write a short summary of this sub-topic"),
             Question("max_items", "At most how many items?", "5", "int", 1, 100)),
            _map),
    Pattern("code_tool", "Code tool", "an agent that can run Python in a Docker sandbox",
            "python-analyst", "question", "What is the sum of the squares of 1 to 100?",
            (Question("task", "What should the agent do?", "Answer the question, using Python for calculations"),
             Question("timeout", "Seconds a piece of code may run?", "10", "int", 1, 120)),
            _code_tool),
    Pattern("http_tool", "HTTP lookup", "an agent that may fetch only allow-listed URLs",
            "http-lookup", "query", "Alan Turing",
            (Question("tool", "Name the HTTP tool.", "wikipedia", "name"),
             Question("allow", "Which URLs may it fetch? (`*` matches within a path)",
                      "https://en.wikipedia.org/api/rest_v1/page/summary/*", "url"),
             Question("task", "What should the agent do with what it fetches?",
                      "Look this up and explain it in three sentences"),
             Question("secret", "Does the API need a key? Give the *name* of its secret (e.g. `SERPER_API_KEY`; "
                      "you set the value in Settings → Named secrets), or say “skip”.", "", "secret"),
             Question("header", "Which request header carries the key (ignored without a secret)?", "X-API-KEY")),
            _http_tool),
    Pattern("function_tools", "Function tools", "an agent that calls Python functions installed on this server",
            "function-helper", "question", "How many days are there between 2024-02-01 and 2024-03-01?",
            (Question("functions", "Which installed functions may it call? (`graphwright tools` or Settings "
                      "lists them)", "calculate, days_between", "names", 1, 10),
             Question("task", "What should the agent do?", "Answer exactly, using the tools for any arithmetic")),
            _function_tools),
    Pattern("screen", "Screen first", "stop early with a polite answer when a request is out of scope",
            "screened-help", "request", "How do I reset my password?",
            (Question("scope", "Which requests should be answered?", "about our product"),
             Question("refusal", "What should out-of-scope requests get back?",
                      "Sorry, I can only help with questions about our product.")),
            _screen),
)


# Words that point at a pattern in a free-text description (the key and title count too).
_CUES = MappingProxyType({
    "sequential": "sequential sequence then after pipeline chain steps brief",
    "parallel": "parallel angles same time simultaneously several perspectives compare",
    "router": "router route routes classify classifies triage category categories kind kinds support ticket",
    "review_loop": "review reviewer revise revision feedback critic critique until loop iterate",
    "approval": "approval approve approves human person sign-off signoff confirm publish",
    "supervisor": "supervisor manager delegate delegates team lead coordinator",
    "map": "map each every item items list sub-topics subtopics split",
    "code_tool": "code python calculate calculation compute data sandbox math",
    "http_tool": "http fetch url urls api web wikipedia lookup download",
    "function_tools": "function functions python installed calculate calculator arithmetic dates",
    "screen": "screen screens screening scope out-of-scope refuse decline filter gate early stop",
})


def match_pattern(text: str) -> Pattern | None:
    """The pattern a free-text description points at most clearly (None on no cue or a tie)."""
    words = set(re.findall(r"[a-z][a-z-]*", text.lower()))
    scores = sorted(((len(words & set(f"{p.key} {p.title.lower()} {_CUES[p.key]}".split()) - _COMMON), i)
                     for i, p in enumerate(PATTERNS)), reverse=True)
    (best, index), (second, _) = scores[0], scores[1]
    return PATTERNS[index] if best > second else None


_COMMON = frozenset({"a", "an", "the", "over", "tool"})


def find_pattern(key: str | None) -> Pattern | None:
    return next((p for p in PATTERNS if p.key == key), None)


def questions_for(pattern: Pattern) -> tuple[Question, ...]:
    return common_first(pattern) + pattern.questions + COMMON_LAST
