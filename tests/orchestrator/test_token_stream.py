"""Streamed pieces become fewer `Token` events: the text stays identical and the first is not held back."""

from __future__ import annotations

import asyncio
import io

from engine_testing import collect, of_type, workflow

from graphwright.cli_run import LiveView
from orchestrator.token_stream import TokenCoalescer
from orchestrator.trace_rows import TraceRows
from testkit.replies import Reply

WORDS = [f" w{i}" for i in range(60)]


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_the_first_piece_goes_out_at_once_and_the_rest_together() -> None:
    async def scenario() -> list[str]:
        clock, out = Clock(), []
        tokens = TokenCoalescer(out.append, interval=0.02, max_pieces=16, clock=clock)
        tokens.add("Hello")
        assert out == ["Hello"]  # not delayed
        for piece in WORDS[:20]:
            tokens.add(piece)
        assert out == ["Hello", "".join(WORDS[:16])]  # 16 gathered pieces go out together
        clock.now += 0.5  # a pause: the next piece goes out at once
        tokens.add(" late")
        assert out[-1] == "".join(WORDS[16:20]) + " late"
        tokens.flush()
        return out

    out = asyncio.run(scenario())
    assert "".join(out) == "Hello" + "".join(WORDS[:20]) + " late"


def test_a_gathered_piece_waits_at_most_the_interval_even_when_the_stream_stalls() -> None:
    async def scenario() -> list[str]:
        out: list[str] = []
        tokens = TokenCoalescer(out.append, interval=0.02)
        tokens.add("a")
        tokens.add("b")  # gathered: the stream then says nothing for a while
        assert out == ["a"]
        await asyncio.sleep(0.2)
        return out

    assert asyncio.run(scenario()) == ["a", "b"]


def test_an_engine_run_emits_fewer_token_events_with_the_same_text(llm_server, llm_client, make_engine) -> None:
    reply = "".join(WORDS).strip()
    llm_server.script(Reply(text=reply, latency=0.05))
    wf = workflow("""
        version: 1
        name: coalesced
        agents: {w: {role: Writer, model: openai/gpt-4o-mini}}
        steps:
          - {id: write, type: agent, agent: w, prompt: Write.}
    """)
    events = collect(make_engine(llm_client).run(wf, {}))

    tokens = of_type(events, "token")
    assert "".join(t.text for t in tokens) == reply
    assert tokens[0].text == "w0"  # the first piece alone: not held back to be joined
    assert 1 < len(tokens) < len(WORDS) / 4
    call = of_type(events, "llm_call")[0]
    assert max(t.seq for t in tokens) < call.seq  # every piece is out before the call's result
    rows = TraceRows()
    for event in events:
        rows.apply(event)
    assert rows.rows[0].text == reply  # the trace (Run tab and history replay) shows the full text
    out = io.StringIO()
    view = LiveView(out, as_json=False)
    for event in events:
        view(event)
    assert f"    {reply}\n" in out.getvalue()  # the CLI prints it whole, on one line
