"""Test and benchmark helpers: the loopback OpenAI-compatible LLM server and its scripted replies.

    from testkit import LLMServer, Reply
"""

from testkit.llm_server import LLMServer, RecordedRequest
from testkit.replies import FAULTS, Reply, ToolCallSpec

__all__ = ["FAULTS", "LLMServer", "RecordedRequest", "Reply", "ToolCallSpec"]
