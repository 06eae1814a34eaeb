"""Validation of supervisors with teams (sub-flow workers) and a shared conversation."""

from collections.abc import Callable

Errors = Callable[..., list[str]]

HEAD = """\
version: 2
name: teams
agents:
  lead: {role: Lead}
  writer: {role: Writer}
  approver: {role: Approver}
steps:
"""  # the steps start on line 8

TEAM = """\
  - id: top
    type: supervisor
    manager: lead
    task: Report
    conversation: shared
    teams:
      - name: research
        steps:
          - {id: search, type: agent, agent: writer, prompt: 'Find {{ task }}'}
          - {id: summary, type: agent, agent: writer, prompt: '{{ steps.search.output }} for {{ task }}'}
"""


def test_team_steps_read_the_sub_task_and_each_other(errors_of: Errors) -> None:
    assert errors_of(HEAD + TEAM) == []


def test_the_sub_task_exists_only_inside_a_team(errors_of: Errors) -> None:
    text = HEAD + TEAM + "  - {id: after, type: agent, agent: writer, prompt: '{{ task }}'}\n"
    assert errors_of(text) == ["18:54: `task` is only available inside a supervisor's team (the sub-task it was given)"]


def test_steps_after_the_supervisor_read_its_answer_not_the_team_steps(errors_of: Errors) -> None:
    text = HEAD + TEAM + "  - {id: after, type: agent, agent: writer, prompt: '{{ steps.summary.output }}'}\n"
    assert errors_of(text) == [
        "18:54: step `summary` does not run before this point (move it earlier or read another step)"
    ]


def test_a_supervisor_needs_someone_to_delegate_to(errors_of: Errors) -> None:
    text = HEAD + "  - {id: s, type: supervisor, manager: lead, task: x}\n"
    assert errors_of(text) == [
        "8:5: supervisor `s` has no one to delegate to (add `workers: [<agent>]` or `teams:` with a named "
        "list of steps)"
    ]


def test_a_team_cannot_share_a_workers_name_or_wait_for_a_person(errors_of: Errors) -> None:
    text = HEAD + TEAM.replace("    teams:\n", "    workers: [writer]\n    teams:\n").replace(
        "name: research", "name: writer"
    ) .replace("          - {id: summary, type: agent, agent: writer, prompt: '{{ steps.search.output }} for {{ task }}'}",
               "          - {id: ok, type: approval, message: go?}")
    assert errors_of(text) == [
        "15:15: `writer` names two workers of supervisor `top` (give each worker and team its own name)",
        "18:28: `approval` steps cannot run inside team `writer` (ask the person before or after the "
        "supervisor step instead)",
    ]


def _nested(depth: int) -> str:
    """A supervisor whose team holds a supervisor whose team... `depth` teams deep."""
    inner = "{id: leaf, type: agent, agent: writer, prompt: '{{ task }}'}"
    for level in range(depth):
        task = "x" if level == depth - 1 else "'{{ task }}'"  # the outermost is not inside a team
        inner = f"{{id: s{level}, type: supervisor, manager: lead, task: {task}, teams: [{{name: t{level}, steps: [{inner}]}}]}}"
    return HEAD + "  - " + inner + "\n"


def test_teams_nest_at_most_three_deep(errors_of: Errors) -> None:
    assert errors_of(_nested(3)) == []
    problems = errors_of(_nested(4))
    assert len(problems) == 1
    assert "teams nest 4 levels deep below `s3`; at most 3 are allowed" in problems[0]
    assert "(flatten a team into its parent's workers)" in problems[0]


def test_an_unknown_conversation_mode_is_located_with_the_choices(errors_of: Errors) -> None:
    problems = errors_of(HEAD + TEAM.replace("conversation: shared", "conversation: everyone"))
    assert len(problems) == 1 and problems[0].startswith("12:19:")
    assert "'isolated'" in problems[0] and "'shared'" in problems[0]
