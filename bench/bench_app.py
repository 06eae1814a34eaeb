"""App benchmark: startup against a minimal Gradio app, and the Run page while a model streams fast.

    .venv/bin/python -m bench.bench_app                    # defaults below
    .venv/bin/python -m bench.bench_app --repeats 5 --tps 300 --tokens 900

(a) Startup: wall time from spawning `python app.py` to the first `GET /` answered 200, against a
    minimal Gradio "hello" app (one Textbox) started the same way, alternating, `--repeats` times
    each; reported: medians and their ratio (target <= 1.5).
(b) Streaming: the app (a child process) calls the loopback test LLM server (another child), which streams
    `--tokens` words at `--tps` tokens per second; headless Chromium runs the workflow from the Run
    tab and samples the streaming text box every 20 ms. Reported: page updates per second, the
    largest lag between what the server had sent and what the page showed (target < 0.5 s), and
    whether the final text has every token (target: none dropped).
(c) First run after start: the app is spawned (with the loopback server answering after `--latency`
    s), and as soon as its first page is served, headless Chromium pastes a one-step workflow, opens
    the Run tab and clicks Run, at once (or after `--think` s); the time from the click to the first
    token on the page is compared with the same for the runs after it (median of `--warm-runs`).
    Reported: both, their ratio (target <= 1.5), when the first click happened after the spawn,
    and the load average at the time.
"""

from __future__ import annotations

import argparse
import os
import re
import socket
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path
from typing import Any

import httpx

from testkit.procstats import stop

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]
HELLO = textwrap.dedent("""\
    import gradio as gr

    with gr.Blocks() as demo:
        name = gr.Textbox(label="Name")
        out = gr.Textbox(label="Greeting")
        name.submit(lambda n: f"Hello {n}!", name, out)

    demo.launch()
""")
WORKFLOW = textwrap.dedent("""\
    version: 2
    name: stream-bench
    agents:
      writer: {role: Writer, model: openai/bench-model}
    steps:
      - {id: write, type: agent, agent: writer, prompt: Write a long text.}
    limits: {max_tokens: 1000000}
""")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _env(port: int, data_dir: Path, extra: dict[str, str] | None = None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.endswith("_API_KEY")}
    env.update(GRADIO_SERVER_NAME="127.0.0.1", GRADIO_SERVER_PORT=str(port), GRADIO_ANALYTICS_ENABLED="False",
               GRAPHWRIGHT_DATA_DIR=str(data_dir), PYTHONDONTWRITEBYTECODE="1", **(extra or {}))
    return env


def _spawn(script: Path, port: int, data_dir: Path, extra: dict[str, str] | None = None,
           log: Any = subprocess.DEVNULL) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, str(script)], cwd=ROOT, env=_env(port, data_dir, extra),
                            stdout=subprocess.DEVNULL, stderr=log)


def _first_page(proc: subprocess.Popen, port: int, started: float, timeout: float = 120) -> float:
    url = f"http://127.0.0.1:{port}/"
    while time.perf_counter() - started < timeout:
        if proc.poll() is not None:
            raise RuntimeError(f"the app exited with code {proc.returncode} before serving a page")
        try:
            if httpx.get(url, timeout=2).status_code == 200:
                return time.perf_counter() - started
        except httpx.TransportError:
            pass
        time.sleep(0.05)
    raise RuntimeError(f"no page within {timeout}s")


def _stop(proc: subprocess.Popen) -> None:
    stop(proc)


def bench_startup(repeats: int) -> dict[str, float]:
    with tempfile.TemporaryDirectory() as tmp:
        hello = Path(tmp) / "hello_app.py"
        hello.write_text(HELLO)
        times: dict[str, list[float]] = {"hello": [], "graphwright": []}
        for i in range(repeats):
            for name, script in (("hello", hello), ("graphwright", ROOT / "app.py")):
                data_dir = Path(tmp) / f"data-{name}-{i}"
                port = _free_port()
                started = time.perf_counter()
                proc = _spawn(script, port, data_dir)
                try:
                    times[name].append(_first_page(proc, port, started))
                finally:
                    _stop(proc)
    hello_s, app_s = statistics.median(times["hello"]), statistics.median(times["graphwright"])
    return {"hello_s": hello_s, "app_s": app_s, "ratio": app_s / hello_s}


_SAMPLER = """() => {
  window.__samples = [];
  const box = document.querySelector('#run-current textarea');
  let last = -1;
  window.__timer = setInterval(() => {
    const n = box.value.split(/\\s+/).filter(Boolean).length;
    if (n !== last) { window.__samples.push([Date.now() / 1000, n]); last = n; }
  }, 20);
}"""


def _wait_finished(page: object, timeout_ms: int = 120_000) -> None:
    """Wait for the run to start and then finish; raise with the page's error message if it failed."""
    page.wait_for_function(
        "() => !document.querySelector('#run-status').innerText.includes('finished')"
        " || document.querySelector('.toast-body')", timeout=timeout_ms)
    page.wait_for_function(
        "() => document.querySelector('#run-status').innerText.includes('finished')"
        " || document.querySelector('.toast-body')", timeout=timeout_ms)
    toast = page.locator(".toast-body")
    if toast.count():
        raise RuntimeError(f"the run failed: {toast.first.inner_text()}")


def _token_arrivals(data_dir: Path) -> list[tuple[float, str]]:
    """(time, text) of every token the app received in its newest run, from the run history."""
    import json

    import duckdb

    con = duckdb.connect(str(data_dir / "history.duckdb"), read_only=True)
    try:
        run_id = con.execute("SELECT run_id FROM runs ORDER BY started_at DESC LIMIT 1").fetchone()[0]
        rows = con.execute("SELECT payload FROM events WHERE run_id = ? AND type = 'token' ORDER BY segment, seq",
                           [run_id]).fetchall()
    finally:
        con.close()
    return [(float(p["ts"]), str(p["text"])) for p in (json.loads(r[0]) for r in rows)]


def _max_lag(arrivals: list[tuple[float, str]], samples: list[list[float]]) -> float:
    """Longest time a received word waited before the page showed it.

    Samples are taken when the shown word count changes, so the worst moment is just before each
    change: the first word not yet shown had arrived at `arrived[shown]`.
    """
    arrived: list[float] = []
    for ts, text in arrivals:
        arrived.extend([ts] * len(text.split()))
    worst = 0.0
    for (_, shown), (t_next, _) in zip(samples, samples[1:], strict=False):
        if int(shown) < len(arrived):
            worst = max(worst, t_next - arrived[int(shown)])
    return worst


def _run_tab(playwright: Any, port: int, workflow: str, timeout_ms: int) -> tuple[Any, Any]:
    """A browser on the app's page with `workflow` typed into Design and the Run tab open, ready to run."""
    from playwright.sync_api import expect

    browser = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    page.set_default_timeout(timeout_ms)
    page.goto(f"http://127.0.0.1:{port}/")
    page.locator("#yaml-editor .cm-content").click()
    page.keyboard.insert_text(workflow)
    expect(page.locator("#yaml-issues")).to_contain_text("Valid", timeout=timeout_ms)
    page.get_by_role("tab", name="Run").click()
    expect(page.locator("#run-preflight")).to_contain_text("stream-bench", timeout=timeout_ms)
    return browser, page


def bench_streaming(tps: float, tokens: int) -> dict[str, float | bool]:
    from playwright.sync_api import sync_playwright

    words = [f"w{i}" for i in range(tokens)]
    workflow = WORKFLOW.replace("Write a long text.", " ".join(words))
    llm_port = _free_port()
    server = subprocess.Popen([sys.executable, "-m", "testkit.llm_server", "--port", str(llm_port),
                               "--default", "echo", "--tokens-per-second", str(tps)], cwd=ROOT,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    with tempfile.TemporaryDirectory() as tmp:
        data_dir = Path(tmp) / "data"
        port = _free_port()
        extra = {"GRAPHWRIGHT_OPENAI_API_BASE": f"http://127.0.0.1:{llm_port}/v1",
                 "OPENAI_API_KEY": "sk-bench-not-a-real-key-000"}
        proc = _spawn(ROOT / "app.py", port, data_dir, extra)
        try:
            _first_page(proc, port, time.perf_counter())
            with sync_playwright() as p:
                browser, page = _run_tab(p, port, workflow, 60_000)
                page.locator("#run-start").click()  # warm-up: the first run imports LiteLLM and LangGraph
                _wait_finished(page)
                page.evaluate(_SAMPLER)
                page.locator("#run-start").click()
                _wait_finished(page)
                page.wait_for_timeout(300)
                samples = page.evaluate("() => { clearInterval(window.__timer); return window.__samples; }")
                final = page.locator("#run-current textarea").input_value()
                browser.close()
        finally:
            _stop(proc)
            _stop(server)
        arrivals = _token_arrivals(data_dir)
    received = "".join(text for _, text in arrivals)
    streaming = [s for s in samples if 0 < s[1]]
    span = (streaming[-1][0] - streaming[0][0]) if len(streaming) > 1 else 0.0
    rate = len(received.split()) / (arrivals[-1][0] - arrivals[0][0]) if len(arrivals) > 1 else 0.0
    return {
        "updates_per_s": (len(streaming) - 1) / span if span else 0.0,
        "max_lag_s": _max_lag(arrivals, [s for s in samples if s[1] > 0] or samples),
        "all_tokens": final == received and final.split()[-tokens:] == words,
        "received_tps": rate,
    }


_FIRST_TOKEN = """() => {
  // Time from now to the first text of the run just started in the current-step box.
  window.__clicked = Date.now();
  window.__first = null;
  // The box still shows the previous run's text until the new run's first update clears it.
  const box = document.querySelector('#run-current textarea');
  let cleared = false;
  const timer = setInterval(() => {
    const text = box.value.trim();
    if (!cleared) {
      cleared = text === '';
    } else if (text) {
      window.__first = (Date.now() - window.__clicked) / 1000;
      clearInterval(timer);
    }
  }, 5);
}"""


def bench_first_run(latency: float, warm_runs: int, think: float = 0.0) -> dict[str, float]:
    """(c): seconds from click to first token of the first run after start, and of the next runs."""
    from playwright.sync_api import sync_playwright

    llm_port = _free_port()
    server = subprocess.Popen([sys.executable, "-m", "testkit.llm_server", "--port", str(llm_port),
                               "--default", "echo", "--latency", str(latency)], cwd=ROOT,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    workflow = WORKFLOW.replace("Write a long text.", " ".join(f"w{i}" for i in range(60)))
    firsts: list[float] = []
    with tempfile.TemporaryDirectory() as tmp:
        port = _free_port()
        extra = {"GRAPHWRIGHT_OPENAI_API_BASE": f"http://127.0.0.1:{llm_port}/v1",
                 "OPENAI_API_KEY": "sk-bench-not-a-real-key-000"}
        time.sleep(1.0)  # the loopback server is up
        spawned = time.perf_counter()
        log = open(Path(tmp) / "app.log", "w+")  # noqa: SIM115 - read back below, closed with the folder
        proc = _spawn(ROOT / "app.py", port, Path(tmp) / "data", extra, log)
        try:
            page_s = _first_page(proc, port, spawned)
            with sync_playwright() as p:
                browser, page = _run_tab(p, port, workflow, 120_000)
                page.wait_for_timeout(think * 1000)  # a person reading the page before clicking Run
                clicked_s = time.perf_counter() - spawned
                for _ in range(1 + warm_runs):
                    page.evaluate(_FIRST_TOKEN)
                    page.locator("#run-start").click()
                    _wait_finished(page)
                    firsts.append(float(page.evaluate("() => window.__first")))
                browser.close()
        finally:
            _stop(proc)
            _stop(server)
        log.seek(0)
        warm_up = re.search(r"warm-up done in ([\d.]+)s", log.read())
        log.close()
    warm = statistics.median(firsts[1:])
    return {"page_s": page_s, "clicked_s": clicked_s, "first_s": firsts[0], "warm_s": warm,
            "ratio": firsts[0] / warm, "warm_up_s": float(warm_up.group(1)) if warm_up else float("nan")}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--tps", type=float, default=300.0)
    parser.add_argument("--tokens", type=int, default=900)
    parser.add_argument("--latency", type=float, default=0.2, help="(c): server latency before the first byte")
    parser.add_argument("--warm-runs", type=int, default=3)
    parser.add_argument("--think", type=float, default=0.0,
                        help="(c): seconds between the Run tab being ready and the click (0: at once)")
    parser.add_argument("--only", choices=["first-run"], default=None, help="run only (c)")
    args = parser.parse_args(argv)
    if args.only == "first-run":
        first_run(args)
        return

    start = bench_startup(args.repeats)
    print(f"startup  hello app {start['hello_s']:.2f}s · graphwright {start['app_s']:.2f}s · "
          f"ratio {start['ratio']:.2f} (target <= 1.5)")
    stream = bench_streaming(args.tps, args.tokens)
    print(f"stream   {args.tokens} tokens at {args.tps:g}/s (the app received {stream['received_tps']:.0f}/s) · "
          f"{stream['updates_per_s']:.1f} page updates/s · max lag {stream['max_lag_s']:.3f}s (target < 0.5) · "
          f"all tokens shown: {stream['all_tokens']}")
    first_run(args)


def first_run(args: argparse.Namespace) -> None:
    load = os.getloadavg()
    first = bench_first_run(args.latency, args.warm_runs, args.think)
    load = tuple(max(a, b) for a, b in zip(load, os.getloadavg(), strict=True))
    print(f"first run  page served {first['page_s']:.2f}s after spawn (the app's warm-up then took "
          f"{first['warm_up_s']:.1f}s), Run clicked at {first['clicked_s']:.2f}s · "
          f"click to first token: first run {first['first_s']:.3f}s · later runs (median of {args.warm_runs}) "
          f"{first['warm_s']:.3f}s · ratio {first['ratio']:.2f} (target <= 1.5) · "
          f"load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}")


if __name__ == "__main__":
    main()
