"""Validation of authenticated http tools: what request templates read and where secrets may go."""

from collections.abc import Callable

Issues = Callable[..., list[str]]

TOOL = """\
version: 2
name: demo
agents:
  a: {role: Researcher, tools: [api]}
steps:
  - {id: s, type: agent, agent: a, prompt: Search.}
tools:
  api:
    type: http
    url: https://api.example.com/v1/search
    allow: ['https://api.example.com/v1/*']
    methods: [POST]
    headers: {Authorization: 'Bearer {{ secrets.API_TOKEN }}'}
    secrets: {API_TOKEN: [api.example.com]}
    params: {q: {type: string}}
    body: {query: '{{ params.q }}', limit: 5}
"""


def test_a_complete_authenticated_tool_validates(errors_of: Issues, warnings_of: Issues) -> None:
    assert errors_of(TOOL) == [] and warnings_of(TOOL) == []


def test_a_request_reads_only_declared_params_and_bound_secrets(errors_of: Issues) -> None:
    text = TOOL.replace("'{{ params.q }}'", "'{{ params.query }}'").replace(
        "[api.example.com]}", "[api.example.com]}\n    query: {k: '{{ secrets.OTHER_KEY }}', t: '{{ inputs.topic }}'}")
    assert errors_of(text) == [
        "15:16: secret `OTHER_KEY` is not bound to any host (declare it under the tool's `secrets` with the hosts "
        "it may be sent to, e.g. `OTHER_KEY: [api.example.com]`)",
        "15:46: `{{ inputs.topic }}`: a request of tool `api` may read only `{{ params.<name> }}` and "
        "`{{ secrets.<NAME> }}` (pass run values to the agent in its prompt; it fills the tool's `params`)",
        "17:19: `{{ params.query }}`: tool `api` has no parameter `query` (expected one of `q`)",
    ]


def test_a_secret_bound_to_a_host_the_tool_cannot_reach_is_an_error(errors_of: Issues) -> None:
    text = TOOL.replace("[api.example.com]", "[api.example.com, evil.example.net]")
    assert errors_of(text) == [
        "14:44: secret `API_TOKEN` is bound to `evil.example.net`, which none of tool `api`'s `allow` patterns reach "
        "(bind it to a host under `allow`, or add the host to `allow`)"]


def test_a_secret_never_goes_into_a_url_or_a_prompt(errors_of: Issues) -> None:
    text = TOOL.replace("v1/search", "v1/search/{{ secrets.API_TOKEN }}").replace(
        "prompt: Search.", "prompt: 'Use {{ secrets.API_TOKEN }}'")
    assert errors_of(text) == [
        "6:49: `secrets.API_TOKEN`: a secret never goes into a prompt or a model (read it only in an http tool's "
        "`headers`, `query` or `body`)",
        "10:10: `{{ secrets.API_TOKEN }}` in a URL: a secret may not be part of the URL (send it in a header, or in "
        "`query`)",
    ]


def test_a_body_needs_post(errors_of: Issues) -> None:
    assert errors_of(TOOL.replace("methods: [POST]", "methods: [GET]")) == [
        "16:11: tool `api` has a `body` but does not allow POST (add `POST` to `methods`)"]
