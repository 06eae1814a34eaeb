"""LiteLLM's default tokenizer loads when something counts tokens, not at import or the first call."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path
from types import SimpleNamespace

from orchestrator.lazy_encoding import LazyEncoding

ROOT = Path(__file__).resolve().parents[2]


def test_the_stand_in_loads_the_real_tokenizer_once_on_first_use() -> None:
    loads: list[int] = []
    encoding = LazyEncoding(lambda: loads.append(1) or SimpleNamespace(encode=lambda text: text.split()))
    assert not encoding.loaded and loads == []
    assert encoding.encode("two words") == ["two", "words"]
    assert encoding.encode("again") == ["again"]
    assert encoding.loaded and loads == [1]


def test_litellm_gets_the_stand_in_and_still_counts_tokens() -> None:
    code = textwrap.dedent("""
        import sys
        from orchestrator.llm import load_litellm
        litellm = load_litellm()
        from litellm import main
        stand_in = main._get_encoding()
        print(type(stand_in).__name__, stand_in.loaded, "litellm.litellm_core_utils.default_encoding" in sys.modules)
        print(len(stand_in.encode("The tide rises twice a day.")), stand_in.loaded)
    """)
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=240,
                          env={"LITELLM_LOCAL_MODEL_COST_MAP": "True", "PATH": "/usr/bin:/bin"})
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.splitlines() == ["LazyEncoding False False", "7 True"]


def test_a_streamed_call_loads_no_tokenizer_and_our_counts_still_count(llm_server) -> None:
    """LiteLLM would count the prompt of every streamed call (loading its tokenizer, ≈40 MB) to price
    a response we price ourselves from the reported usage; our own counts must still work."""
    llm_server.set_default("echo")
    code = textwrap.dedent(f"""
        import asyncio, sys
        from orchestrator.credentials import Credentials
        from orchestrator.llm import LiteLLMClient
        from orchestrator.llm_types import LLMRequest, ModelParams
        from orchestrator.pricing import count_prompt_tokens, count_text_tokens

        client = LiteLLMClient(Credentials(keys={{"openai": "sk-test"}}, api_bases={{"openai": "{llm_server.base_url}"}}))
        request = LLMRequest(ModelParams(model="openai/gpt-4o-mini"), [{{"role": "user", "content": "hi"}}])
        result = asyncio.run(client.complete(request))
        print(result.text, result.tokens_in > 0, "tiktoken.load" in sys.modules)
        print(count_text_tokens("openai/gpt-4o-mini", "hello world"),
              count_prompt_tokens("openai/gpt-4o-mini", [{{"role": "user", "content": "hello world"}}]) >= 2)
    """)
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=240,
                          env={"LITELLM_LOCAL_MODEL_COST_MAP": "True", "PATH": "/usr/bin:/bin"})
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.splitlines() == ["echo: hi True False", "2 True"]
