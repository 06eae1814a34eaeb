"""Load each hostile document in this process and report time, peak-memory growth and the message.

`python -m tests.hardening.yaml_bomb_child` prints one JSON object: payload name -> result. Run as a
child so `ru_maxrss` measures only the loader and a crash cannot take the test run down with it.
"""

from __future__ import annotations

import faulthandler
import json
import resource
import time
from collections.abc import Callable

faulthandler.enable()

from schemas import ConfigError, load_workflow, validate_text  # noqa: E402

VALID_HEAD = "version: 1\nname: bomb\nagents:\n  a: {role: A}\nsteps:\n  - {id: s, type: agent, agent: a, prompt: hi}\n"


def _laughs() -> str:
    lines = ['a0: &a0 "lol"']
    for i in range(1, 10):
        refs = ", ".join([f"*a{i - 1}"] * 10)
        lines.append(f"a{i}: &a{i} [{refs}]")
    return VALID_HEAD + "\n".join(lines) + "\n"


PAYLOADS: dict[str, Callable[[], str]] = {
    "billion_laughs": _laughs,
    "merge_key_bomb": lambda: VALID_HEAD + "base: &b {x: 1}\n" + "".join(f"k{i}: {{<<: *b}}\n" for i in range(200)),
    "flow_nesting_100k": lambda: "[" * 100_000 + "]" * 100_000,
    "flow_mapping_nesting_100k": lambda: "{a: " * 100_000 + "}" * 100_000,
    "block_nesting_100k": lambda: "- " * 100_000 + "x\n",
    "block_mapping_nesting_5k": lambda: "".join("  " * i + "a:\n" for i in range(5_000)),
    "ten_megabytes_scalar": lambda: VALID_HEAD + "description: " + "x" * 10_000_000 + "\n",
    "ten_megabytes_of_keys": lambda: VALID_HEAD + "".join(f"k{i}: v\n" for i in range(1_100_000)),
    "python_tag_apply": lambda: VALID_HEAD + "x: !!python/object/apply:os.system ['echo pwned']\n",
    "python_tag_name": lambda: VALID_HEAD + "x: !!python/name:os.system\n",
    "local_tag": lambda: VALID_HEAD + "x: !custom {a: 1}\n",
    "duplicate_keys": lambda: VALID_HEAD + "name: again\n",
    "multi_document": lambda: VALID_HEAD + "---\n" + VALID_HEAD,
    "tag_directive_shorthand": lambda: "%TAG !e! tag:yaml.org,2002:python/object/apply:\n---\n" + VALID_HEAD
    + "x: !e!os.system ['echo pwned']\n",
    "flow_nesting_30k_under_the_size_cap": lambda: "[" * 30_000 + "]" * 30_000,
    "block_nesting_20k_under_the_size_cap": lambda: "- " * 20_000 + "x\n",
}
# Also loaded with the size cap lifted: depth must be refused on its own.
UNCAPPED = frozenset({"flow_nesting_100k", "flow_mapping_nesting_100k", "block_nesting_100k",
                      "block_mapping_nesting_5k"})
EXPECTED_WORDS: dict[str, tuple[str, ...]] = {
    "billion_laughs": ("alias", "anchor"),
    "merge_key_bomb": ("alias", "anchor"),
    "flow_nesting_100k": ("deep", "depth", "nest", "bytes", "larger"),
    "flow_mapping_nesting_100k": ("deep", "depth", "nest", "bytes", "larger"),
    "block_nesting_100k": ("deep", "depth", "nest", "bytes", "larger"),
    "block_mapping_nesting_5k": ("deep", "depth", "nest", "bytes", "larger"),
    "ten_megabytes_scalar": ("bytes", "larger", "size"),
    "ten_megabytes_of_keys": ("bytes", "larger", "size"),
    "python_tag_apply": ("tag",),
    "python_tag_name": ("tag",),
    "local_tag": ("tag",),
    "duplicate_keys": ("duplicate",),
    "multi_document": ("document",),
    "tag_directive_shorthand": ("tag",),
    "flow_nesting_30k_under_the_size_cap": ("deep", "depth", "nest"),
    "block_nesting_20k_under_the_size_cap": ("deep", "depth", "nest"),
}


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux reports KiB


def _load_uncapped(text: str, filename: str) -> None:
    report = validate_text(text, filename, max_bytes=100_000_000)
    if not report.ok:
        raise ConfigError(report.errors)


def main() -> dict[str, dict[str, object]]:
    load_workflow(VALID_HEAD)  # warm the imports: only the payloads count below
    out: dict[str, dict[str, object]] = {}
    jobs = [(name, build, load_workflow) for name, build in PAYLOADS.items()]
    jobs += [(f"{name}_uncapped", PAYLOADS[name], _load_uncapped) for name in sorted(UNCAPPED)]
    for name, build, load in jobs:
        text = build()
        before = _peak_mb()
        started = time.perf_counter()
        try:
            load(text, "bomb.yaml")
            outcome, message = "loaded", ""
        except ConfigError as exc:
            outcome, message = "config_error", str(exc)[:400]
        except BaseException as exc:  # noqa: BLE001 - the test reports anything else as a failure
            outcome, message = type(exc).__name__, str(exc)[:400]
        out[name] = {"outcome": outcome, "message": message, "seconds": time.perf_counter() - started,
                     "rss_growth_mb": _peak_mb() - before, "bytes": len(text.encode())}
        del text
    return out


if __name__ == "__main__":
    print(json.dumps(main()))
