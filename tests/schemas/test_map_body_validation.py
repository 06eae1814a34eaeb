"""A map's body: its steps see the item and the body steps before them; outside, only the map's list."""

from collections.abc import Callable

import yaml

from schemas import validate_text
from schemas.migrations import migrate_with_notes
from ui.mermaid import to_mermaid

Errors = Callable[..., list[str]]

HEAD = """\
version: 2
name: demo
agents:
  planner: {role: Planner, output: {topics: {type: list, items: string}}}
  researcher: {role: Researcher, output: {facts: {type: list, items: string}}}
  writer: {role: Writer}
steps:
  - {id: plan, type: agent, agent: planner, prompt: plan}
  - id: each
    type: map
    over: '{{ steps.plan.output.topics }}'
    as: topic
    steps:
"""  # the body starts on line 14


def body(*lines: str, after: str = "") -> str:
    return HEAD + "".join(line + "\n" for line in lines) + after


RESEARCH = "      - {id: research, type: agent, agent: researcher, prompt: 'facts on {{ topic }}'}"
WRITE = "      - {id: write, type: agent, agent: writer, prompt: '{{ topic }}: {{ steps.research.output.facts }}'}"


def test_body_steps_read_the_item_and_earlier_body_steps(errors_of: Errors) -> None:
    text = body(RESEARCH, WRITE, after="  - {id: join, type: agent, agent: writer, prompt: '{{ steps.each.output }}'}\n")
    assert errors_of(text) == []
    workflow = validate_text(text, "t.yaml").workflow
    assert workflow is not None and [s.id for s in workflow.steps[1].steps] == ["research", "write"]


def test_a_body_step_cannot_read_a_later_one(errors_of: Errors) -> None:
    text = body("      - {id: first, type: agent, agent: writer, prompt: '{{ steps.write.output }}'}", WRITE, RESEARCH)
    assert errors_of(text)[0] == "14:58: step `write` does not run before this point (move it earlier or read another step)"


def test_outside_the_map_a_body_step_points_to_the_maps_output(errors_of: Errors) -> None:
    text = body(RESEARCH, WRITE, after="  - {id: join, type: agent, agent: writer, prompt: '{{ steps.write.output }}'}\n")
    assert errors_of(text) == [
        "16:53: step `write` runs once per item inside map `each`, so it has no single output here "
        "(read `steps.each.output` instead: the list of every item's result)"
    ]


def test_the_item_is_not_readable_after_the_map(errors_of: Errors) -> None:
    text = body(RESEARCH, after="  - {id: join, type: agent, agent: writer, prompt: '{{ topic }}'}\n")
    assert errors_of(text) == ["15:53: unknown name `topic` (expected one of `inputs`, `steps`)"]


def test_asking_a_person_or_ending_the_run_per_item_is_refused(errors_of: Errors) -> None:
    text = body(RESEARCH, "      - {id: ok, type: approval, message: 'fine?'}",
                "      - {id: stop, type: end, output: done}")
    assert errors_of(text) == [
        "15:9: `approval` step `ok` cannot be inside map `each`: a map runs its items at once, so it cannot "
        "stop for a person's approval per item (put `ok` before or after map `each`)",
        "16:9: an `end` step cannot run inside a parallel branch or a map, where other work runs at the same "
        "time (put it after the parallel or map step, e.g. in a route case)",
    ]


def test_output_must_name_a_body_step(errors_of: Errors) -> None:
    text = body(RESEARCH, WRITE).replace("    as: topic\n", "    as: topic\n    output: reserch\n")
    assert errors_of(text) == ["13:13: `output: reserch` is not a step of map `each`'s body (did you mean `research`?)"]


def test_the_maps_output_is_a_list_of_the_chosen_body_steps_output(errors_of: Errors) -> None:
    chosen = body(RESEARCH, WRITE, after="  - {id: join, type: agent, agent: writer, prompt: '{{ steps.each.output.facts }}'}\n")
    assert errors_of(chosen) == [  # by default the last body step's: text
        '16:53: `steps.each.output` is a list of strings: read an item with `.0`, or every `facts` with '
        '`pluck(..., "facts")`'
    ]
    assert errors_of(chosen.replace("    as: topic\n", "    as: topic\n    output: research\n")) == [
        '17:53: `steps.each.output` is a list of objects (facts): read an item with `.0`, or every `facts` '
        'with `pluck(..., "facts")`'
    ]


def test_a_version_1_single_step_becomes_a_one_step_body_with_a_note() -> None:
    old = {"version": 1, "name": "x", "steps": [
        {"id": "outer", "type": "loop", "until": "true", "max_iterations": 1, "steps": [
            {"id": "m", "type": "map", "over": "{{ inputs.xs }}", "step": {"id": "one", "type": "agent"}}]}]}
    migrated, notes = migrate_with_notes(old)
    assert migrated["steps"][0]["steps"][0]["steps"] == [{"id": "one", "type": "agent"}]
    assert "step" not in migrated["steps"][0]["steps"][0] and "step" in old["steps"][0]["steps"][0]  # a copy
    assert notes == ["upgraded from version 1: map `m`: its `step: {...}` became `steps: [{...}]` "
                     "(a map now runs a list of steps per item; one step means the same as before)"]


def test_version_2_has_only_steps(errors_of: Errors) -> None:
    text = body(RESEARCH).replace("    steps:\n" + RESEARCH, "    step: {id: research, type: agent, agent: researcher, prompt: x}")
    assert any("unknown key `step`" in e and "did you mean `steps`" in e for e in errors_of(text))


def test_the_diagram_draws_the_body_between_the_map_and_its_gathering() -> None:
    workflow = validate_text(body(RESEARCH, WRITE), "t.yaml").workflow
    assert workflow is not None
    chart = to_mermaid(workflow)
    assert "each: map over items (up to 20)" in chart and "each: gather" in chart
    assert "research" in chart and "write" in chart and "each item" in chart


def test_max_runs_counts_every_body_step_per_item() -> None:
    workflow = validate_text(body(RESEARCH, WRITE), "t.yaml").workflow
    assert workflow is not None
    assert workflow.steps[1].max_runs() == 1 + 20 * 2 and workflow.steps[1].min_runs() == 1


def test_the_example_is_a_two_step_body() -> None:
    data = yaml.safe_load(open("examples/map_topics.yaml"))
    [mapped] = [s for s in data["steps"] if s["type"] == "map"]
    assert len(mapped["steps"]) == 2
