"""Layering and state rules the whole codebase follows, checked mechanically."""

from __future__ import annotations

import ast
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CORE_PACKAGES = ("schemas", "orchestrator", "history", "chatbot")
HANDLER_PACKAGES = ("schemas", "orchestrator", "history", "chatbot", "ui")
LAYERS = ("schemas", "orchestrator", "history", "cluster", "chatbot", "ui")

_BLOCK_GRADIO = """
import importlib.abc, importlib.util, pkgutil, sys
class Block(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path, target=None):
        if name == "gradio" or name.startswith("gradio."):
            raise ImportError("core imported gradio: " + name)
sys.meta_path.insert(0, Block())
for pkg in {packages!r}:
    mod = __import__(pkg)
    for info in pkgutil.walk_packages(mod.__path__, pkg + "."):
        __import__(info.name)
print("ok")
"""


def _modules(package: str) -> list[Path]:
    return sorted((ROOT / package).rglob("*.py"))


def test_core_packages_import_without_gradio() -> None:
    code = _BLOCK_GRADIO.format(packages=CORE_PACKAGES)
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-3000:]


def _imported_top_levels(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module.split(".")[0])
    return names


def test_data_flows_one_way_between_layers() -> None:
    """schemas <- orchestrator <- history <- chatbot <- ui: a layer never imports a later one."""
    offenders = []
    for i, layer in enumerate(LAYERS):
        later = set(LAYERS[i + 1 :])
        for path in _modules(layer):
            bad = _imported_top_levels(path) & later
            if bad:
                offenders.append(f"{path.relative_to(ROOT)} imports {sorted(bad)}")
    assert not offenders, "\n".join(offenders)


_MUTABLE_CALLS = {"dict", "list", "set", "defaultdict", "OrderedDict", "Counter", "deque", "bytearray"}


def _is_mutable(value: ast.expr | None) -> bool:
    if isinstance(value, ast.Dict | ast.List | ast.Set | ast.ListComp | ast.DictComp | ast.SetComp):
        return True
    if isinstance(value, ast.Call):
        func = value.func
        name = func.id if isinstance(func, ast.Name) else func.attr if isinstance(func, ast.Attribute) else ""
        return name in _MUTABLE_CALLS
    return False


def test_no_module_level_mutable_state() -> None:
    """Handlers serve many browser sessions at once: shared mutable globals would leak between them.

    Lookup tables must be immutable (tuple, frozenset, MappingProxyType); per-session state lives in
    objects the UI keeps in `gr.State`; process-wide services are created by the app and passed in.
    """
    offenders = []
    for package in HANDLER_PACKAGES:
        for path in _modules(package):
            tree = ast.parse(path.read_text())
            for node in tree.body:
                targets = []
                if isinstance(node, ast.Assign):
                    targets, value = node.targets, node.value
                elif isinstance(node, ast.AnnAssign):
                    targets, value = [node.target], node.value
                else:
                    continue
                if _is_mutable(value) and not any(
                    isinstance(t, ast.Name) and t.id == "__all__" for t in targets
                ):
                    offenders.append(f"{path.relative_to(ROOT)}:{node.lineno}")
            for node in ast.walk(tree):
                if isinstance(node, ast.Global):
                    offenders.append(f"{path.relative_to(ROOT)}:{node.lineno} uses `global`")
    assert not offenders, "module-level mutable state:\n" + "\n".join(offenders)


_BLOCK_CLUSTER = """
import importlib.abc, sys, tempfile
from pathlib import Path
class Block(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path, target=None):
        if name.split(".")[0] in ("psycopg", "psycopg_pool", "temporalio", "cluster") or name.startswith("langgraph.checkpoint.postgres"):
            raise ImportError("local mode imported a cluster dependency: " + name)
sys.meta_path.insert(0, Block())
from orchestrator.deployment import Deployment
from orchestrator.runner import Engine
from history.backend import open_history
import graphwright.cli, ui.services
data = Path(tempfile.mkdtemp())
engine = Engine(data_dir=data, deployment=Deployment.from_env())
store = open_history(data, Deployment.from_env(), mlflow=False)
store.close(); engine.state.close()
from orchestrator.credentials import Credentials
from ui.services import AppServices
from ui.session import Session
services = AppServices.create(data / "app", base_credentials=Credentials(keys={"openai": "sk-operator"}))
session = Session(hf_token="hf-visitor-token")
session.settings.keys["openai"] = "sk-visitor-typed"
session.settings.secrets["SERPER_API_KEY"] = "serper-visitor"
visitor = services.engine_for(session)  # local mode: the very engine, the visitor's keys in its memory
assert type(visitor) is Engine and services.cluster is None, type(visitor)
assert visitor.credentials.key_for("openai") == "sk-visitor-typed", visitor.credentials
assert visitor.credentials.key_for("huggingface") == "hf-visitor-token"
assert visitor.credentials.secret("SERPER_API_KEY") == "serper-visitor"
visitor.state.close(); services.history.close()
print("ok")
"""


def test_local_mode_imports_nothing_of_cluster_mode() -> None:
    """The embedded default stays lean: no PostgreSQL or Temporal client, nothing of `cluster` (its key sealing
    included) is imported without their settings; a visitor's keys reach the in-process engine as before."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GRAPHWRIGHT_POSTGRES", "GRAPHWRIGHT_TEMPORAL"))}
    done = subprocess.run([sys.executable, "-c", _BLOCK_CLUSTER], cwd=ROOT, capture_output=True, text=True,
                          timeout=120, env=env)
    assert done.returncode == 0 and done.stdout.strip() == "ok", done.stderr[-3000:]


def test_one_place_picks_the_cluster_implementations() -> None:
    """No `if cluster:` scattered around: only the two factories name the PostgreSQL modules."""
    pickers = {"orchestrator/deployment.py", "history/backend.py"}
    cluster_modules = {"orchestrator.pg_state", "history.pg_store"}
    offenders = []
    for path in [p for layer in LAYERS for p in _modules(layer)] + _modules("graphwright"):
        rel = str(path.relative_to(ROOT))
        text = path.read_text()
        if rel not in pickers and not rel.startswith(("orchestrator/pg_", "history/pg_")):
            offenders += [f"{rel} imports {m}" for m in cluster_modules if f"from {m} import" in text]
    assert not offenders, "\n".join(offenders)
