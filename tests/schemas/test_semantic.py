"""Semantic rules: references resolve, and templates read only what runs upstream on every path."""

from collections.abc import Callable

Errors = Callable[..., list[str]]

HEAD = """\
version: 1
name: demo
inputs:
  topic: {}
agents:
  writer: {role: Writer}
  judge:
    role: Judge
    output:
      approved: {type: boolean}
      label: {enum: [good, bad]}
      topics: {type: list}
steps:
"""  # the steps start on line 14


def steps(*lines: str) -> str:
    return HEAD + "".join(line + "\n" for line in lines)


def test_a_well_formed_flow_has_no_errors(errors_of: Errors) -> None:
    text = steps(
        "  - {id: a, type: agent, agent: judge, prompt: '{{ inputs.topic }}'}",
        "  - {id: b, type: agent, agent: writer, prompt: '{{ steps.a.output.label }} {{ steps.a.output }}'}",
    )
    assert errors_of(text) == []


def test_unknown_agent(errors_of: Errors) -> None:
    assert errors_of(steps("  - {id: a, type: agent, agent: writr, prompt: x}")) == [
        "14:33: unknown agent `writr` (did you mean `writer`?)"
    ]


def test_unknown_input_and_unknown_root(errors_of: Errors) -> None:
    text = steps("  - {id: a, type: agent, agent: writer, prompt: '{{ inputs.topc }} {{ input.topic }}'}")
    assert errors_of(text) == [
        "14:50: unknown input `topc` in `inputs.topc` (did you mean `topic`?)",
        "14:68: unknown name `input.topic` (did you mean `inputs`?)",
    ]


def test_step_must_run_before_it_is_read(errors_of: Errors) -> None:
    text = steps(
        "  - {id: a, type: agent, agent: writer, prompt: '{{ steps.b.output }}'}",
        "  - {id: b, type: agent, agent: writer, prompt: '{{ steps.b.output }}'}",
    )
    assert errors_of(text) == [
        "14:50: step `b` does not run before this point (move it earlier or read another step)",
        "15:50: step `b` does not run before this point (move it earlier or read another step)",
    ]


def test_unknown_step_suggests_a_visible_one(errors_of: Errors) -> None:
    text = steps(
        "  - {id: draft, type: agent, agent: writer, prompt: x}",
        "  - {id: b, type: agent, agent: writer, prompt: '{{ steps.draf.output }}'}",
    )
    assert errors_of(text) == ["15:50: unknown step `draf` in `steps.draf.output` (did you mean `draft`?)"]


def test_output_fields_must_be_declared(errors_of: Errors) -> None:
    text = steps(
        "  - {id: a, type: agent, agent: judge, prompt: x}",
        "  - {id: w, type: agent, agent: writer, prompt: x}",
        "  - {id: b, type: agent, agent: writer, prompt: '{{ steps.a.output.aproved }} {{ steps.w.output.x }}'}",
    )
    assert errors_of(text) == [
        "16:50: step `a` has no output field `aproved` (did you mean `approved`?)",
        "16:79: step `w` returns text, so `steps.w.output.x` has nothing to read "
        "(declare `output:` fields on its agent, or read `steps.w.output`)",
    ]


def test_route_branches_are_hidden_after_the_route_but_its_output_is_not(errors_of: Errors) -> None:
    text = steps(
        "  - id: r",
        "    type: route",
        "    cases:",
        "      - when: inputs.topic == 'x'",
        "        steps:",
        "          - {id: inner, type: agent, agent: writer, prompt: x}",
        "    default: []",
        "  - {id: after, type: agent, agent: writer, prompt: '{{ steps.r.output }} {{ steps.inner.output }}'}",
    )
    assert errors_of(text) == [
        "21:75: step `inner` runs inside a branch of route `r`, so it is not available here "
        "(read `steps.r.output` instead)"
    ]


def test_loop_and_parallel_inner_steps_are_visible_after_them(errors_of: Errors) -> None:
    text = steps(
        "  - id: both",
        "    type: parallel",
        "    branches:",
        "      - {id: left, type: agent, agent: writer, prompt: '{{ steps.right.output }}'}",
        "      - {id: right, type: agent, agent: writer, prompt: x}",
        "  - id: again",
        "    type: loop",
        "    max_iterations: 2",
        "    until: steps.check.output.approved and loop.iteration >= 2",
        "    steps:",
        "      - {id: check, type: agent, agent: judge, prompt: '{{ steps.left.output }} {{ loop.iteration }}'}",
        "  - {id: end, type: agent, agent: writer, prompt: '{{ steps.check.output.label }} {{ steps.right.output }}'}",
    )
    assert errors_of(text) == [
        "17:57: step `right` does not run before this point (move it earlier or read another step)"
    ]


def test_loop_names_outside_a_loop_and_item_outside_a_map(errors_of: Errors) -> None:
    text = steps("  - {id: a, type: agent, agent: writer, prompt: '{{ loop.iteration }} {{ item }}'}")
    assert errors_of(text) == [
        "14:50: `loop.iteration` is only available inside a loop",
        "14:71: `item` is only available inside a map's steps",
    ]


def test_map_item_and_over(errors_of: Errors) -> None:
    text = steps(
        "  - {id: plan, type: agent, agent: judge, prompt: x}",
        "  - id: each",
        "    type: map",
        "    over: '{{ steps.plan.output.label }}'",
        "    as: topic",
        "    steps: [{id: one, type: agent, agent: writer, prompt: '{{ topic }} {{ item }}'}]",
    )
    assert errors_of(text) == [
        "17:11: `steps.plan.output.label` is a string, not a list",
        "19:72: `item` is only available inside a map's steps",
    ]


def test_map_over_must_be_a_single_reference(errors_of: Errors) -> None:
    text = steps(
        "  - {id: plan, type: agent, agent: judge, prompt: x}",
        "  - id: each",
        "    type: map",
        "    over: 'topics: {{ steps.plan.output.topics }}'",
        "    steps: [{id: one, type: agent, agent: writer, prompt: '{{ item }}'}]",
    )
    assert errors_of(text) == [
        "17:11: `over` must be exactly one reference to a list (write e.g. `{{ steps.plan.output.topics }}`)"
    ]


def test_route_on_values_must_be_possible(errors_of: Errors) -> None:
    text = steps(
        "  - {id: a, type: agent, agent: judge, prompt: x}",
        "  - id: r",
        "    type: route",
        "    on: '{{ steps.a.output.label }}'",
        "    cases:",
        "      - {when: good, steps: [{id: g, type: agent, agent: writer, prompt: x}]}",
        "      - {when: god, steps: [{id: h, type: agent, agent: writer, prompt: x}]}",
        "      - {when: Good, steps: [{id: i, type: agent, agent: writer, prompt: x}]}",
        "      - {when: BAD, steps: [{id: j, type: agent, agent: writer, prompt: x}]}",
        "    default: []",
    )
    assert errors_of(text) == [
        "20:16: `god` is not one of the values `on` can take, so this case can never run (did you mean `good`?)",
        "21:16: `when: Good` repeats an earlier case, so it can never run",
    ]


def test_route_with_on_and_classify(errors_of: Errors) -> None:
    text = steps(
        "  - id: r",
        "    type: route",
        "    on: '{{ inputs.topic }}'",
        "    classify: {prompt: '{{ inputs.topic }}'}",
        "    cases: [{when: a, steps: [{id: g, type: agent, agent: writer, prompt: x}]}]",
        "    default: []",
    )
    assert errors_of(text) == ["17:15: a route uses `on` or `classify`, not both (remove one of them)"]


def test_expressions_are_parsed_and_their_names_checked(errors_of: Errors) -> None:
    text = steps(
        "  - id: r",
        "    type: route",
        "    cases:",
        "      - {when: inputs.topic = 'x', steps: [{id: g, type: agent, agent: writer, prompt: x}]}",
        "      - {when: steps.g.output == 1, steps: [{id: h, type: agent, agent: writer, prompt: x}]}",
        "    default: []",
    )
    errors = errors_of(text)
    assert errors[0].startswith("17:29: invalid expression: cannot parse expression")
    assert (
        errors[1] == "18:16: step `g` does not run before this point (move it earlier or read another step)"
    )


def test_duplicate_ids_anywhere_in_the_tree(errors_of: Errors) -> None:
    text = steps(
        "  - {id: a, type: agent, agent: writer, prompt: x}",
        "  - id: l",
        "    type: loop",
        "    max_iterations: 2",
        "    until: 'true'",
        "    steps: [{id: a, type: agent, agent: writer, prompt: x}]",
    )
    assert errors_of(text) == ["19:18: duplicate step id `a` (step ids must be unique)"]


def test_supervisor_references(errors_of: Errors) -> None:
    text = steps("  - {id: s, type: supervisor, manager: writer, workers: [writer, jduge], task: x}")
    assert errors_of(text) == [
        "14:40: manager `writer` is also one of its workers",
        "14:66: unknown agent `jduge` (did you mean `judge`?)",
    ]


def test_tools_and_agent_tools_resolve(errors_of: Errors) -> None:
    text = (
        HEAD.replace("  writer: {role: Writer}", "  writer: {role: Writer, tools: [serch, helper]}")
        + "  - {id: a, type: agent, agent: writer, prompt: x}\n"
        + "tools:\n  search: {type: http, allow: ['https://example.com/*']}\n"
        + "  helper: {type: agent, agent: jugde}\n"
    )
    assert errors_of(text) == [
        "6:34: agent `writer` uses unknown tool `serch` (did you mean `search`?)",
        "17:32: tool `helper` names unknown agent `jugde` (did you mean `judge`?)",
    ]


def test_input_default_must_match_its_type(errors_of: Errors) -> None:
    text = steps("  - {id: a, type: agent, agent: writer, prompt: '{{ inputs.topic }}'}").replace(
        "  topic: {}", "  topic: {type: integer, default: many}"
    )
    assert errors_of(text) == ["4:35: default of input `topic` is not a integer"]


def test_fallback_cycles(errors_of: Errors) -> None:
    text = steps("  - {id: a, type: agent, agent: writer, prompt: x}") + (
        "models:\n  a: {model: openai/gpt-4o-mini, fallbacks: [b]}\n  b: {model: openai/gpt-4o, fallbacks: [a]}\n"
    )
    assert errors_of(text) == [
        "16:45: fallbacks loop back: a -> b -> a",
        "17:40: fallbacks loop back: b -> a -> b",
    ]


def test_warnings_unknown_model_unused_agent_and_input_sandbox(warnings_of: Errors) -> None:
    text = (
        steps("  - {id: a, type: agent, agent: writer, prompt: x}")
        + "default_model: openai/gpt-4o-mnii\n"
        + "tools:\n  calc: {type: python}\n"
    ).replace("  writer: {role: Writer}", "  writer: {role: Writer, tools: [calc]}")
    assert warnings_of(text, sandbox_available=False) == [
        "4:3: input `topic` is never read",
        "7:3: agent `judge` is never used",
        "15:16: model `openai/gpt-4o-mnii` is not in LiteLLM's model list (did you mean `openai/gpt-4o-mini`?)",
        "17:16: python tools cannot run here (no Docker daemon): tool `calc` will fail when called "
        "(run graphwright where Docker is available)",
    ]
    assert not any("python" in w for w in warnings_of(text, sandbox_available=True))


def test_known_and_local_models_are_not_warned_about(warnings_of: Errors, minimal: str) -> None:
    for model in (
        "openai/gpt-4o-mini",
        "gpt-4o-mini",
        "ollama_chat/llama3.2",
        "offline",
        "anthropic/claude-sonnet-4-5-20250929",
    ):
        assert warnings_of(minimal + f"default_model: {model}\n") == [], model


def test_parallel_and_loop_outputs_have_the_engine_shape(errors_of: Errors) -> None:
    text = steps(
        "  - id: both",
        "    type: parallel",
        "    branches:",
        "      - {id: left, type: agent, agent: judge, prompt: x}",
        "      - {id: right, type: agent, agent: writer, prompt: x}",
        "  - id: again",
        "    type: loop",
        "    max_iterations: 2",
        "    until: steps.check.output.approved",
        "    steps: [{id: check, type: agent, agent: judge, prompt: x}]",
        "  - {id: a, type: agent, agent: writer, prompt: '{{ steps.both.output.lef }} {{ steps.again.output.label }}'}",
        "  - {id: b, type: agent, agent: writer, prompt: '{{ steps.both.output.left.note }} {{ steps.again.output.x }}'}",
    )
    assert errors_of(text) == [
        "24:50: step `both` has no output field `lef` (did you mean `left`?)",
        "25:84: step `again` has no output field `x` (expected one of `approved`, `label`, `topics`)",
    ]


def test_max_steps_below_what_every_run_needs(warnings_of: Errors, minimal: str) -> None:
    loop = "  - {id: again, type: loop, max_iterations: 3, until: 'true', steps: [{id: b, type: agent, agent: writer, prompt: x}]}\n"
    assert warnings_of(minimal + loop + "limits: {max_steps: 2}\n") == [
        "12:10: every run needs at least 3 step executions but `limits.max_steps` is 2, so runs stop early "
        "(set `limits.max_steps` to 3 or more)"
    ]
    assert warnings_of(minimal + loop + "limits: {max_steps: 3}\n") == []
    assert warnings_of(minimal.replace("steps:\n", "limits: {max_steps: 1}\nsteps:\n") + loop)[0].startswith(
        "6:10: every run"
    )
