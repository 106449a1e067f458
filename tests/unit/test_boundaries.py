"""The package boundaries hold: one vocabulary, no copies of it in the browser's scripts, the
core packages never import the dashboard, no module uses another's private names, and no test
module imports from another (shared helpers live in tests/support/)."""

from __future__ import annotations

import ast
import json
import os
import subprocess
import sys
from pathlib import Path

from flask import Flask

from geo import symbology
from nsp import vocab

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("nsp", "geo", "ingest", "dashboard")


def _modules(*packages: str):
    for package in packages:
        for path in sorted((ROOT / package).rglob("*.py")):
            yield path, ast.parse(path.read_text(), filename=str(path))


def _imports(tree: ast.AST):
    """(module, names) of every import in ``tree``, nested ones (inside functions) included."""
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield alias.name, []
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            yield node.module, [a.name for a in node.names]


def test_core_packages_never_import_the_dashboard():
    found = [f"{path.relative_to(ROOT)}: {module}" for path, tree in _modules("nsp", "geo", "ingest")
             for module, _names in _imports(tree) if module.split(".")[0] == "dashboard"]
    assert not found, found


def _private_uses(tree: ast.AST, ours: tuple[str, ...]):
    """Another module's private names that ``tree`` uses: imported (``from m import _x``) or
    read off an imported module or object (``m._x``); dunders are not private."""
    bound: dict[str, str] = {}  # local name -> what it was imported as
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.split(".")[0] in ours:  # `import a.b as m` binds a.b; `import a.b` binds a
                    name = alias.name if alias.asname else alias.name.split(".")[0]
                    bound[alias.asname or name] = name
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module and node.module.split(".")[0] in ours:
            for alias in node.names:
                bound[alias.asname or alias.name] = f"{node.module}.{alias.name}"
                if alias.name.startswith("_"):
                    yield f"from {node.module} import {alias.name}"
    for node in ast.walk(tree):
        if (isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id in bound
                and node.attr.startswith("_") and not node.attr.startswith("__")):
            yield f"{bound[node.value.id]}.{node.attr}"


def test_no_private_names_are_used_across_modules():
    ours = (*PACKAGES, "tests")
    found = [f"{path.relative_to(ROOT)}: {use}" for path, tree in _modules(*ours)
             if "data" not in path.relative_to(ROOT).parts for use in _private_uses(tree, ours)]
    assert not found, found


def test_the_private_names_check_sees_imports_and_attributes():
    tree = ast.parse("from nsp import db\nfrom geo.x import _y, z\nimport ingest.formats.ais as ais\n"
                     "db._pg_bin('initdb'); ais._xor(b''); z._w; db.__name__; os._exit")
    assert sorted(_private_uses(tree, PACKAGES)) == [
        "from geo.x import _y", "geo.x.z._w", "ingest.formats.ais._xor", "nsp.db._pg_bin"]


def _test_imports(path: Path, tree: ast.AST):
    """Every module that a file under tests/ imports, relative imports resolved."""
    package = path.relative_to(ROOT).parent.parts
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = ".".join(package[:len(package) - node.level + 1]) if node.level else ""
            yield ".".join(part for part in (base, node.module or "") if part)


# What a test module may import of tests/: the shared helpers, never another test module (xdist
# sends each file to its own process, and a test file is no library).
TEST_HELPERS = ("tests.support", "tests.auth_helpers", "tests.tls_certs")


def test_test_modules_import_shared_helpers_only_from_tests_support():
    found = [f"{path.relative_to(ROOT)}: {module}" for path in sorted((ROOT / "tests").rglob("*.py"))
             if "data" not in path.relative_to(ROOT).parts
             for module in _test_imports(path, ast.parse(path.read_text(), filename=str(path)))
             if module.split(".")[0] == "tests" and module not in ("tests",)
             and not any(module == h or module.startswith(h + ".") for h in TEST_HELPERS)]
    assert not found, found


def test_the_browser_scripts_hold_no_copy_of_the_vocabulary():
    scripts = {p.name: p.read_text() for p in (ROOT / "dashboard" / "assets").glob("*.js")}
    assert "nsp_map.js" in scripts
    words = [*vocab.CATEGORIES[:3], *symbology.LEVEL_COLOURS.values(),
             *(colour for colour, _shape in symbology.CATEGORY_STYLE.values()),
             symbology.OWN_UNIT_STYLE["fill"], symbology.OWN_UNIT_STYLE["silentFill"]]
    copies = [f"{name}: {word}" for name, text in scripts.items() for word in words
              if word.lower() in text.lower()]
    assert not copies, copies


def test_vocab_script_serves_python_values():
    from dashboard.app import vocab_script

    with Flask(__name__).test_request_context("/vocab.js"):
        response = vocab_script()
    body = response.get_data(as_text=True)
    assert response.mimetype == "text/javascript"
    assert body.startswith("window.nspVocab = ") and body.rstrip().endswith(";")
    served = json.loads(body.removeprefix("window.nspVocab = ").rstrip().rstrip(";"))
    assert served["categories"] == list(vocab.CATEGORIES)
    assert served["impactRank"] == {"low": 1, "medium": 2, "high": 3, "very_high": 4}
    assert served["levelBars"]["critical"] == "▂▄▆█"
    assert {c: tuple(s) for c, s in served["categoryStyle"].items()} == symbology.CATEGORY_STYLE


def test_own_units_are_drawn_in_a_shape_family_apart_from_every_events():
    """Own units and border-crossing events were both triangles (navy and blue): own units get
    the APP-6 friendly frame, which no event category uses, served to the browser and drawn
    by the legend from the same values."""
    from dashboard.app import vocab_script
    from dashboard.components import mapview

    unit = symbology.OWN_UNIT_STYLE
    assert unit["shape"] not in symbology.EVENT_SHAPES and "triangle" not in unit["shape"]
    assert unit["width"] / unit["height"] == 1.5  # the friendly frame's 3:2
    with Flask(__name__).test_request_context("/vocab.js"):
        served = json.loads(vocab_script().get_data(as_text=True).removeprefix("window.nspVocab = ").rstrip().rstrip(";"))
    assert served["ownUnit"] == unit
    legend = repr(mapview.legend("main"))
    assert "▲" not in legend and f"fill='{unit['fill']}'" in legend


# ------------------------------------------------------------------ the layout by concern

# ingest/: feed formats, loading, delivery; only the shared NSP_INGEST_ settings at the top
INGEST_TOP = {"__init__.py", "settings.py"}
INGEST_PARTS = ("formats", "loading", "delivery")
# the modules of the split page and of the picture stay short enough to read whole
MAX_MODULE_LINES = 500


def test_ingest_is_grouped_into_formats_loading_and_delivery():
    """A parser, the pipeline or the watcher back directly under ingest/ is the flat layout
    back: every module but the shared settings lives in one of the three sub-packages."""
    flat = {p.name for p in (ROOT / "ingest").glob("*.py")}
    assert flat == INGEST_TOP, sorted(flat - INGEST_TOP)
    for part in INGEST_PARTS:
        assert (ROOT / "ingest" / part / "__init__.py").is_file(), part
    from ingest.formats import base

    assert base.FORMAT_MODULES and all(m.startswith("ingest.formats.") for m in base.FORMAT_MODULES)
    # formats() leaves out a module it cannot find: every one must register
    assert sorted(base.formats()) == ["aircraft-json", "ais", "avr", "beast", "cot", "csv", "geojson", "gpx", "remoteid", "sbs"]


def test_every_contributed_command_and_task_module_is_where_the_registries_say():
    """`nsp` and the queue find the areas' modules by name, and the queue leaves out a module
    that does not exist (an area under construction) without a word: a move that forgets
    them loses a command or every ingest task."""
    import importlib.util

    from nsp import cli, queue

    missing = [m for m, _attr in cli.CONTRIBUTED if importlib.util.find_spec(m) is None]
    missing += [m for m in queue.TASK_MODULES if importlib.util.find_spec(m) is None]
    assert not missing, missing


def test_queue_task_names_stay_those_stored_in_job_rows():
    """procrastinate stores a job's task name in its row (procrastinate_jobs.task_name): the
    ingest tasks keep the names they had before ingest/ was grouped, so a job queued by an
    older release still finds its task."""
    from nsp.queue import app

    for module in ("ingest.delivery.tasks", "geo.snapshot.tasks"):
        __import__(module)
    names = set(app.tasks)
    assert {"ingest.tasks.ingest_file_job", "ingest.tasks.retry_stalled_jobs", "ingest.tasks.fail_orphan_batches",
            "ingest.tasks.ensure_position_partitions", "ingest.tasks.deliver_alerts",
            "ingest.tasks.apply_position_retention"} <= names, sorted(names)


def test_the_main_page_and_the_picture_are_split_by_concern():
    """dashboard/pages/main.py and geo/picture.py were one module each (950 and 750 lines):
    they are packages of modules by concern, none over MAX_MODULE_LINES."""
    assert not (ROOT / "dashboard" / "pages" / "main.py").exists()
    assert not (ROOT / "geo" / "picture.py").exists()
    parts = {folder: {p.stem for p in (ROOT / folder).glob("*.py")} for folder in ("dashboard/pages/main", "geo/picture")}
    assert len(parts["dashboard/pages/main"] - {"__init__"}) >= 6 and len(parts["geo/picture"] - {"__init__"}) >= 4, parts
    long = [f"{p.relative_to(ROOT)}: {n} lines" for folder in ("dashboard/pages", "geo/picture")
            for p in sorted((ROOT / folder).rglob("*.py")) if (n := len(p.read_text().splitlines())) > MAX_MODULE_LINES]
    assert not long, long


def test_the_web_app_starts_without_the_snapshot_writers_libraries():
    # folium, pandas, pyarrow and pyogrio make the weekly snapshot's map and GeoPackage; the web
    # app (every `nsp serve` worker) serves the downloads without them: some 0.4 s of CPU each
    code = ("import sys; from dashboard.app import create_app; create_app(); "
            "print(sorted(m for m in ('folium', 'pandas', 'pyarrow', 'pyogrio', 'geopandas') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.strip().splitlines()[-1] == "[]", out.stdout


def test_the_web_app_opens_no_connection_and_no_thread_as_it_is_made():
    # `nsp serve --workers N` makes the app in gunicorn's master and forks the workers from it
    # (preload_app): a pool or a thread made then would be shared by, or missing in, the workers
    code = ("import threading; from dashboard.app import server; from nsp import access, db; "
            "print(access._app_pool is None and db._pool is None, [t.name for t in threading.enumerate()])")
    env = {**os.environ, "DATABASE_URL": "postgresql://nobody@127.0.0.1:1/none"}  # nothing answers there
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.strip().splitlines()[-1] == "True ['MainThread']", out.stdout
