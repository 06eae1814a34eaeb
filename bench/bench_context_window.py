"""What the context-window check adds to one model call (issue 18's target: ≤ 2 ms over a bare call).

    .venv/bin/python -m bench.bench_context_window

Times `context_window.fit` on requests of several sizes against `openai/gpt-4o-mini` (128k
window): the usual case stops at the byte bound and never tokenizes; a prompt near the window is
counted with LiteLLM's `token_counter` (the cost a long prompt pays, once per call).
"""

from __future__ import annotations

import asyncio
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")

from orchestrator.context_window import Overflow, fit  # noqa: E402
from orchestrator.llm_types import LLMRequest, ModelParams  # noqa: E402

TEXT = "The tide rises and falls twice a day because of the moon. "


async def _never(_request: LLMRequest) -> None:
    raise AssertionError("no summary in this benchmark")


def measure(chars: int, repeats: int) -> float:
    """Median milliseconds of one `fit` on a system prompt plus a user prompt of `chars` characters."""
    request = LLMRequest(ModelParams("openai/gpt-4o-mini"), [
        {"role": "system", "content": "You are a writer."},
        {"role": "user", "content": (TEXT * (chars // len(TEXT) + 1))[:chars]},
    ])
    asyncio.run(fit(request, Overflow(), _never, lambda _n: None))  # warm caches (model info)
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        asyncio.run(fit(request, Overflow(), _never, lambda _n: None))
        times.append(time.perf_counter() - started)
    loop_cost = []
    for _ in range(repeats):  # asyncio.run's own cost, subtracted
        started = time.perf_counter()
        asyncio.run(asyncio.sleep(0))
        loop_cost.append(time.perf_counter() - started)
    return max(statistics.median(times) - statistics.median(loop_cost), 0.0) * 1000


def main() -> None:
    for chars, repeats in ((2_000, 300), (20_000, 300), (100_000, 100), (400_000, 20)):
        print(f"prompt of {chars:>7,} characters: {measure(chars, repeats):7.3f} ms per call")


if __name__ == "__main__":
    main()
