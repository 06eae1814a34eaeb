"""A process that has LiteLLM loaded reads prices from LiteLLM's copy of the map, not a second parse."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_with_litellm_loaded_the_price_readers_share_its_map_and_price_alike() -> None:
    code = textwrap.dedent("""
        from chatbot.prices import price_of as estimate_price
        from history.prices import price_of
        from schemas.model_catalog import bundled_price_map, read_price_file

        from_file = read_price_file()["gpt-4o-mini"]
        from orchestrator.llm import load_litellm
        load_litellm()
        from litellm.litellm_core_utils.get_model_cost_map import GetModelCostMap
        print(bundled_price_map() is GetModelCostMap.loaded_model_cost_map())
        print(price_of("openai/gpt-4o-mini").input == from_file["input_cost_per_token"],
              estimate_price("gpt-4o-mini").output == from_file["output_cost_per_token"])
    """)
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=240,
                          env={"LITELLM_LOCAL_MODEL_COST_MAP": "True", "PATH": "/usr/bin:/bin"})
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.splitlines() == ["True", "True True"]
