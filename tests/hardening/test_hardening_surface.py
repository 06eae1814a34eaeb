"""The Gradio surface of a launched app: file routes, the public API, uploads, the queue, CORS.

Everything here is what an anonymous visitor of a public Space can send with curl: path traversal
in every spelling against every file route Gradio 6 serves, URL fetches through the file and proxy
routes (server-side request forgery), oversized uploads, foreign origins.
"""

from __future__ import annotations

import json
from pathlib import Path
from urllib.parse import quote

import httpx
import pytest
from gradio_client import Client

from tests.hardening.conftest import WORKFLOW, Sink, refused_run, run_args
from tests.ui.conftest import RunningApp
from tests.ui.test_endpoints import EXPECTED_PUBLIC

ROOT = Path(__file__).resolve().parents[2]
CANARY = "GW-FILE-CANARY-7f3a9c"
PUBLIC_API = frozenset(EXPECTED_PUBLIC)  # one list of the public endpoints, kept by the UI tests
FILE_ROUTES = ("/gradio_api/file=", "/gradio_api/file/", "/file=", "/file/", "/gradio_api/proxy=",
               "/gradio_api/custom_component/x/y/z/", "/gradio_api/run-history/records/a/b/assets/",
               "/static/", "/assets/", "/gradio_api/")
# Content that must never come back: /etc/passwd, the process environment, DuckDB, SQLite, our canary.
SECRET_MARKERS = ("root:x:0", "PATH=", "DUCK", "SQLite format", CANARY, "GRAPHWRIGHT_DATA_DIR")


@pytest.fixture(scope="module")
def planted(hardened_app: RunningApp) -> dict[str, Path]:
    """Files an attacker wants: the run store, a canary in the data dir, a `.env` beside the app."""
    data = hardened_app.data_dir
    (data / "notes.txt").write_text(f"{CANARY}\n")
    env_file = data.parent / ".env"
    env_file.write_text(f"OPENAI_API_KEY={CANARY}\n")
    client = Client(hardened_app.url, verbose=False)
    return {"history": data / "history.duckdb", "canary": data / "notes.txt", "env": env_file,
            "client": client}  # type: ignore[dict-item]


def _payloads(files: dict[str, Path]) -> list[str]:
    up = "../" * 12
    targets = ["etc/passwd", "proc/self/environ"]
    out = []
    for target in targets:
        out += [up + target, quote(up, safe="") + target, "%2e%2e%2f" * 12 + target, "%252e%252e%252f" * 12 + target,
                "....//" * 12 + target, "..%2f" * 12 + target, "..\\" * 12 + target, "/" + target,
                "%2F" + target, "//" + target, "file:///" + target, "./" + up + target]
    for key in ("history", "canary", "env"):
        path = str(files[key].resolve())
        out += [path, quote(path, safe=""), path.replace("/", "//"), str(files[key].parent) + "/./" + files[key].name,
                str(files[key].parent) + "/x/../" + files[key].name]
    out += ["/proc/self/cwd/.env", "/proc/self/cwd/app.py", "/proc/self/root/etc/passwd", ".env",
            "../.env", str(ROOT / "app.py"), str(ROOT / "requirements.txt")]
    for checkpoint in files["history"].parent.glob("*.sqlite*"):
        out.append(str(checkpoint.resolve()))
    return out


def test_no_file_route_serves_anything_outside_its_own_uploads(hardened_app: RunningApp,
                                                               planted: dict[str, Path]) -> None:
    base = hardened_app.url.rstrip("/")
    tried, served = 0, []
    with httpx.Client(timeout=10) as http:
        for route in FILE_ROUTES:
            for payload in _payloads(planted):
                reply = http.get(base + route + payload)
                tried += 1
                text = reply.text
                if reply.status_code < 400 or any(m in text for m in SECRET_MARKERS):
                    if any(m in text for m in SECRET_MARKERS) or reply.status_code == 200 and "<html" not in text[:200]:
                        served.append(f"{reply.status_code} {route}{payload}: {text[:80]!r}")
    assert tried > 300 and not served, "\n".join(served)
    # The route itself works: a file the visitor uploaded comes back.
    uploaded = httpx.post(base + "/gradio_api/upload", files={"files": ("mine.yaml", b"mine: 1\n")}, timeout=10)
    assert httpx.get(base + "/gradio_api/file=" + uploaded.json()[0], timeout=10).text == "mine: 1\n"


def test_file_and_proxy_routes_never_fetch_urls_for_a_visitor(hardened_app: RunningApp, fresh_sink: Sink) -> None:
    base = hardened_app.url.rstrip("/")
    port = fresh_sink.url.rsplit(":", 1)[1]
    targets = [f"{fresh_sink.url}/leak", f"http://localhost:{port}/leak", f"http://2130706433:{port}/leak",
               "http://169.254.169.254/latest/meta-data/", f"http://[::1]:{port}/leak"]
    with httpx.Client(timeout=15) as http:
        for route in ("/gradio_api/file=", "/gradio_api/proxy=", "/file=", "/proxy="):
            for target in targets:
                reply = http.get(base + route + target)
                assert "SINK-CONTENT" not in reply.text
    assert fresh_sink.hits == []


def test_the_data_directory_is_blocked_at_launch(hardened_app: RunningApp) -> None:
    from ui.app import launch_kwargs

    blocked = [Path(p) for p in launch_kwargs(hardened_app.services)["blocked_paths"]]
    assert hardened_app.data_dir.resolve() in blocked
    assert str(hardened_app.data_dir.resolve()) in {str(p) for p in hardened_app.demo.blocked_paths}


def test_only_the_intended_endpoints_are_public(hardened_app: RunningApp, planted: dict[str, object]) -> None:
    api = planted["client"].view_api(print_info=False, return_format="dict")  # type: ignore[attr-defined]
    assert set(api["named_endpoints"]) == PUBLIC_API and not api["unnamed_endpoints"]
    info = httpx.get(hardened_app.url + "gradio_api/info", timeout=10).json()
    assert set(info["named_endpoints"]) == PUBLIC_API
    for name in ("/save", "/forget_keys", "/set_model", "/set_mlflow", "/new_session", "/open_file", "/on_load"):
        with pytest.raises(Exception):  # noqa: B017 - gradio_client raises a plain ValueError
            planted["client"].predict(api_name=name)  # type: ignore[attr-defined]


def test_run_history_and_dev_routes_are_off(hardened_app: RunningApp) -> None:
    """(`/gradio_api/dev/reload` is an event stream that stays silent outside `gradio` dev mode.)"""
    base = hardened_app.url.rstrip("/")
    with httpx.Client(timeout=10) as http:
        for path in ("/gradio_api/runs", "/gradio_api/run-history/buckets", "/gradio_api/run-history/records",
                     "/gradio_api/vibe-code", "/gradio_api/user"):
            reply = http.get(base + path)
            assert reply.status_code in (401, 403, 404, 405) or not reply.text.strip() or "null" == reply.text.strip(), \
                f"{path}: {reply.status_code} {reply.text[:120]}"


def test_uploads_are_bounded(hardened_app: RunningApp) -> None:
    base = hardened_app.url.rstrip("/")
    big = b"a: b\n" * 420_000  # ~2 MB, over the 1 MB cap
    reply = httpx.post(base + "/gradio_api/upload", files={"files": ("big.yaml", big, "text/yaml")}, timeout=30)
    assert reply.status_code == 413, (reply.status_code, reply.text[:200])


def test_the_queue_is_bounded(hardened_app: RunningApp) -> None:
    from ui.app import QUEUE_MAX_SIZE

    queue = hardened_app.demo._queue
    assert queue.max_size == QUEUE_MAX_SIZE <= 256
    assert all(fn.concurrency_limit not in (None, "default") or queue.default_concurrency_limit
               for fn in hardened_app.demo.fns.values())
    assert queue.default_concurrency_limit is not None and queue.default_concurrency_limit <= 16


def test_a_ten_megabyte_config_sent_to_run_is_refused_quickly(planted: dict[str, object], llm_server: object) -> None:
    import time

    huge = WORKFLOW + "description: " + "x" * 10_000_000 + "\n"
    started = time.perf_counter()
    assert "larger than 64 KiB" in refused_run(planted["client"], *run_args(huge))
    assert time.perf_counter() - started < 15  # mostly the 10 MB round trip on a busy machine


def test_cors_does_not_let_a_foreign_origin_read_the_api(hardened_app: RunningApp) -> None:
    base = hardened_app.url.rstrip("/")
    evil = "https://evil.example"
    with httpx.Client(timeout=10) as http:
        for method, path in (("GET", "/gradio_api/info"), ("GET", "/config"), ("OPTIONS", "/gradio_api/queue/join"),
                             ("POST", "/gradio_api/queue/join")):
            headers = {"Origin": evil, "Access-Control-Request-Method": "POST"}
            reply = http.request(method, base + path, headers=headers,
                                 content=json.dumps({}) if method == "POST" else None)
            allowed = reply.headers.get("access-control-allow-origin")
            assert allowed in (None, "null") or allowed not in ("*", evil), f"{method} {path}: {allowed}"


def test_repeated_exports_do_not_pile_up_files(hardened_app: RunningApp, planted: dict[str, object]) -> None:
    """Anyone may press Export in a loop: the files it leaves behind must stay bounded."""
    import tempfile

    def export_dirs() -> set[Path]:
        return set(Path(tempfile.gettempdir()).glob("graphwright-export*"))

    import time

    started = time.time() - 1
    for i in range(12):
        planted["client"].predict("csv" if i % 2 else "parquet", "runs", "All time", "(any)", "(any)",  # type: ignore[attr-defined]
                                  "(any)", api_name="/export")
    files = [p for d in export_dirs() for p in d.rglob("*") if p.is_file() and p.stat().st_mtime >= started]
    assert len(files) <= 4, f"{len(files)} export files left behind by one session"
    assert hardened_app.demo.delete_cache is not None, "Gradio's copies of outputs are never cleaned up"


def _raw_call(base: str, fn_index: int, data: list[object], trigger: int | None, session: str) -> str:
    """Call an event the way the page does (queue/join + the SSE stream), bypassing gradio_client."""
    with httpx.Client(timeout=30) as http:
        joined = http.post(base + "/gradio_api/queue/join", json={"data": data, "fn_index": fn_index,
                           "session_hash": session, "event_data": None, "trigger_id": trigger})
        if joined.status_code != 200:
            return joined.text
        out = []
        with http.stream("GET", base + f"/gradio_api/queue/data?session_hash={session}") as stream:
            for line in stream.iter_lines():
                out.append(line)
                if "process_completed" in line:
                    break
        return "\n".join(out)


def test_upload_handlers_called_raw_cannot_read_server_files(hardened_app: RunningApp,
                                                              planted: dict[str, Path]) -> None:
    """The file-opening handlers are private, but the page calls them by `fn_index`; so can anyone."""
    base = hardened_app.url.rstrip("/")
    handlers = [(i, fn) for i, fn in hardened_app.demo.fns.items() if getattr(fn.fn, "__name__", "") == "open_file"]
    assert len(handlers) == 2, "the Design and Run tabs each open uploaded files"
    targets = ["/etc/passwd", str(planted["canary"].resolve()), str(planted["env"].resolve()),
               str(planted["history"].resolve())]
    for n, (index, fn) in enumerate(handlers):
        for k, target in enumerate(targets):
            data: list[object] = [{"path": target, "meta": {"_type": "gradio.FileData"}, "orig_name": "x.yaml"}]
            data += [None] * (len(fn.inputs) - 1)
            trigger = fn.targets[0][0] if fn.targets else None
            answer = _raw_call(base, index, data, trigger, f"raw-{n}-{k}")
            assert "not uploaded by a user" in answer or '"success":false' in answer, answer[-300:]
            assert not any(m in answer for m in SECRET_MARKERS), answer[-300:]


def test_gradio_monitoring_is_off_unless_the_operator_asks(hardened_app: RunningApp,
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    """`/monitoring/summary` would show every visitor's events; `GET /monitoring` would log its secret URL."""
    base = hardened_app.url.rstrip("/")
    with httpx.Client(timeout=10) as http:
        for path in ("/monitoring", "/monitoring/summary"):
            reply = http.get(base + path)
            assert reply.status_code in (403, 404), f"{path}: {reply.status_code} {reply.text[:120]}"
    from ui.app import launch_kwargs

    assert launch_kwargs(hardened_app.services)["enable_monitoring"] is False
    monkeypatch.setenv("GRAPHWRIGHT_MONITORING", "1")
    assert launch_kwargs(hardened_app.services)["enable_monitoring"] is True


@pytest.mark.parametrize("model", ["http://169.254.169.254/v1", "custom_openai/gpt-4o", "openai/http://x.test/v1"])
def test_the_run_tabs_model_override_accepts_only_known_providers(hardened_app: RunningApp, model: str) -> None:
    client = Client(hardened_app.url, verbose=False)
    args = list(run_args(WORKFLOW))
    args[1] = model
    status = refused_run(client, *args)
    assert "not a model name" in status or "not a provider" in status
