"""The documentation holds to the code, loads nothing from outside, and keeps no diary.

* every `nsp` command and each of its long options is in the generated CLI reference, and
  every setting in the generated settings reference, with a description;
* the built site references nothing outside itself as a resource (a closed network);
* the pages and the README hold no commit hashes and no dates of work (CHANGELOG.md does).

The site is built once here with `mkdocs build --strict`, as `make docs` does; under `make test`,
which has just built it so, the checks read that build (``NSP_TEST_DOCS_SITE``).
"""

from __future__ import annotations

import importlib.util
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
DOCS = ROOT / "docs"
# One variable of each settings class: the hook must find every class, wherever it lives.
ONE_OF_EACH_CLASS = {
    "NSP_DB_POOL_MAX", "NSP_GEO_TIMEZONE", "NSP_DB_APP_URL", "NSP_QUEUE_CONCURRENCY", "NSP_EXPORT_OUT_DIR",
    "NSP_INGEST_MAX_BYTES", "NSP_WATCH_SOURCE", "NSP_LISTEN_TAK_PASSWORD", "NSP_API_MAX_BODY_BYTES",
    "NSP_DEMO_PORT", "NSP_ALERT_BATCH", "NSP_WEB_REFRESH_SECONDS", "NSP_AUTH_SECRET_KEY",
}


def _hook(name: str):
    """A module of docs/_hooks, loaded as MkDocs loads it."""
    spec = importlib.util.spec_from_file_location(f"nsp_docs_hook_{name}", DOCS / "_hooks" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def site(tmp_path_factory) -> Path:
    # make test builds the site (mkdocs build --strict, into site/) just before pytest and names
    # it in NSP_TEST_DOCS_SITE: the checks read that build rather than making a second one
    built = os.environ.get("NSP_TEST_DOCS_SITE")
    if built:
        assert (Path(built) / "reference" / "cli.html").is_file(), f"NSP_TEST_DOCS_SITE={built}: no site built there"
        return Path(built)
    out = tmp_path_factory.mktemp("site")
    result = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--quiet",
         "--config-file", str(ROOT / "mkdocs.yml"), "--site-dir", str(out)],
        cwd=ROOT, capture_output=True, text=True, env={**os.environ, "NO_MKDOCS_2_WARNING": "1"},
    )
    assert result.returncode == 0, f"mkdocs build --strict failed:\n{result.stdout}\n{result.stderr}"
    return out


# ----------------------------------------------------------------------- the references


def _sections_by_anchor(html: str) -> dict[str, str]:
    """Heading id → the HTML from that heading to the next one."""
    parts = re.split(r'<h[1-6] id="([^"]+)"', html)
    return {parts[i]: parts[i + 1] for i in range(1, len(parts) - 1, 2)}


def test_every_command_and_its_options_are_in_the_cli_reference(site):
    commands = _hook("cli_reference").load_all_commands()
    assert len(commands) > 40 and "nsp listen" in commands and "nsp alerts add" in commands  # lazy groups loaded
    sections = _sections_by_anchor((site / "reference" / "cli.html").read_text())
    missing = []
    for name, command in commands.items():
        anchor = name.replace(" ", "-")
        if anchor not in sections:
            missing.append(name)
            continue
        body = sections[anchor]
        missing += [f"{name} {opt}" for param in command.params for opt in param.opts
                    if opt.startswith("--") and opt not in body]
    assert not missing, f"not in reference/cli.md: {missing}"


def test_every_setting_is_in_the_settings_reference_with_a_description(site):
    hook = _hook("settings_reference")
    rows = hook.setting_rows()
    generated = {name for _cls, name, _default, _what in rows}
    assert ONE_OF_EACH_CLASS <= generated, ONE_OF_EACH_CLASS - generated
    assert not (blank := [name for _c, name, _d, what in rows if not what.strip()]), f"no description: {blank}"
    names = generated | hook.environ_names() | set(hook.option_envvars())
    assert {"NSP_LISTEN_TAK_PASSWORD", "NSP_LOG_FORMAT", "NSP_ACTOR"} <= names
    page = (site / "reference" / "settings.html").read_text()
    assert not (missing := sorted(n for n in names if f"<code>{n}</code>" not in page)), \
        f"not in reference/settings.md: {missing}"
    environ = dict(hook.ENVIRON)
    assert not (unexplained := sorted(hook.environ_names() - set(environ))), \
        f"read with os.environ but not described in docs/_hooks/settings_reference.py ENVIRON: {unexplained}"


# --------------------------------------------------------------------- a closed network

# An http(s) address loaded as a resource: an element that fetches its src/href, a CSS
# @import, a url(...) in CSS or a style attribute. Links to pages (<a href>) are text.
_RESOURCE_HTML = re.compile(
    r"""<(?:script|img|iframe|source|video|audio|embed|track|input)\b[^>]*?\bsrc\s*=\s*["']?\s*(?:https?:)?//"""
    r"""|<link\b[^>]*?\bhref\s*=\s*["']?\s*(?:https?:)?//"""
    r"""|<object\b[^>]*?\bdata\s*=\s*["']?\s*(?:https?:)?//""",
    re.IGNORECASE)
_RESOURCE_CSS = re.compile(r"""@import\s+(?:url\()?\s*["']?\s*(?:https?:)?//|url\(\s*["']?\s*(?:https?:)?//""",
                           re.IGNORECASE)
# In JavaScript: an address that starts a string literal, once comments are gone.
_JS_COMMENTS = re.compile(r"/\*.*?\*/|(?<![:\\\w\"'`])//[^\n]*", re.S)
_URL_IN_JS = re.compile(r"""(?<=["'`])https?://[^\s"'`)<>\\]+""")

# Addresses in the theme's JavaScript (mkdocs-material's bundle), each fetched only under a
# condition this site does not meet; test_the_conditions_of_the_theme_addresses holds them.
THEME_JS_URLS = {
    "https://unpkg.com/resize-observer-polyfill": "a polyfill, loaded only by browsers without ResizeObserver",
    "https://unpkg.com/mermaid@": "loaded only on a page with a mermaid diagram",
    "https://api.github.com/repos/": "repository facts, fetched only with repo_url set",
    "https://api.github.com/users/": "repository facts, fetched only with repo_url set",
    "https://bit.ly/": "a link in a console warning of the search",
    "https://${": "a GitLab server's API, fetched only with repo_url set",
}


def resource_urls(path: Path, text: str) -> list[str]:
    """Where `text` (the file at `path`) loads something from outside the site."""
    found = []
    if path.suffix in (".html", ".htm"):
        found += [m.group(0) for m in _RESOURCE_HTML.finditer(text)]
        for style in re.findall(r"<style\b[^>]*>(.*?)</style>|style\s*=\s*\"([^\"]*)\"", text, re.S | re.I):
            found += [m.group(0) for part in style for m in _RESOURCE_CSS.finditer(part)]
    elif path.suffix == ".css":
        found += [m.group(0) for m in _RESOURCE_CSS.finditer(text)]
    elif path.suffix == ".js":
        found += [url for url in _URL_IN_JS.findall(_JS_COMMENTS.sub(" ", text))
                  if not any(url.startswith(allowed) for allowed in THEME_JS_URLS)]
    return found


def test_the_resource_check_finds_what_a_cdn_page_would_load(tmp_path):
    cases = {
        "a.html": '<html><head><link rel="stylesheet" href="https://fonts.googleapis.com/css?family=Roboto">',
        "b.html": "<script async src=https://www.googletagmanager.com/gtag/js></script>",
        "c.html": '<img alt="x" src="//cdn.example.org/logo.png">',
        "d.html": '<div style="background: url(\'https://tiles.example.org/1/2/3.png\')"></div>',
        "e.css": '@import url("https://fonts.googleapis.com/css2?family=Inter");',
        "f.css": ".x { background-image: url(https://cdn.example.org/bg.svg) }",
        "g.js": 'fetch("https://cdn.jsdelivr.net/npm/lunr")',
    }
    for name, text in cases.items():
        assert resource_urls(tmp_path / name, text), name
    # links to other pages are text, not resources
    assert not resource_urls(tmp_path / "h.html", '<a href="https://procrastinate.readthedocs.io">procrastinate</a>')


def test_the_site_loads_nothing_from_outside_itself(site):
    files = [p for p in site.rglob("*") if p.suffix in (".html", ".css", ".js")]
    assert len([p for p in files if p.suffix == ".html"]) >= 20
    offending = {str(p.relative_to(site)): urls for p in files
                 if (urls := resource_urls(p, p.read_text(encoding="utf-8", errors="replace")))}
    assert not offending, f"the site loads from outside itself: {offending}"


def test_the_conditions_of_the_theme_addresses():
    config = (ROOT / "mkdocs.yml").read_text()
    assert not re.search(r"^\s*repo_url\s*:", config, re.M)  # no GitHub API calls
    assert re.search(r"^\s*font:\s*false\b", config, re.M)  # no web fonts
    assert not re.search(r"^\s*analytics\s*:", config, re.M)  # no analytics
    pages = [p for p in DOCS.rglob("*.md") if "_notes" not in p.parts]
    assert not [p for p in pages if "```mermaid" in p.read_text()]  # no mermaid, so no mermaid from unpkg


# ------------------------------------------------------------------------- no diary

CHANGELOG = ROOT / "CHANGELOG.md"
# Dates in running text that are not dates of work (none needed so far): {"path": {"2026-…"}}.
ALLOWED_DATES: dict[str, set[str]] = {}

_FENCED = re.compile(r"^(```|~~~).*?^\1", re.S | re.M)
_CODE_SPAN = re.compile(r"(`+)(.+?)\1", re.S)
_HEX = re.compile(r"\b[0-9a-f]{7,40}\b")
_DATE = re.compile(r"\b(?:19|20)\d\d-(?:0[1-9]|1[0-2])(?:-[0-3]\d)?\b")
_RUN_LOG = re.compile(r"\b\d+ min \d+ s\b|\b\d+ tests?, \d+ (?:min|s)\b|\bpassed in \d")


def _is_hash(token: str) -> bool:
    return bool(re.search(r"\d", token)) and bool(re.search(r"[a-f]", token))


def diary_marks(text: str) -> list[str]:
    """Commit hashes (in code spans, or next to 'commit'), dates of work and run logs in `text`."""
    found = []
    for match in _CODE_SPAN.finditer(text):
        found += [f"hash {t}" for t in _HEX.findall(match.group(2)) if _is_hash(t) and match.group(2).strip() == t]
    for match in re.finditer(r"commit\w*\W{1,5}(?:at\s+|is\s+)?`?([0-9a-f]{7,40})\b", text, re.I):
        if _is_hash(match.group(1)):
            found.append(f"hash {match.group(1)}")
    prose = _CODE_SPAN.sub(" ", _FENCED.sub(" ", text))
    found += [f"date {d}" for d in _DATE.findall(prose)]
    found += [f"run log '{r}'" for r in _RUN_LOG.findall(prose)]
    return found


def test_the_diary_check_finds_hashes_dates_and_run_logs():
    assert diary_marks("took 11 min 32 s for 542 tests at `b91bf84`")
    assert diary_marks("Until 2026-12-02 the map's height was fixed")
    assert diary_marks("the session's first commit 3b5a70e, a worktree")
    assert diary_marks("(2026-12-01; 200,000 rows)")
    # examples in code, words and numbers are not marks
    assert not diary_marks("a time such as `2026-11-22T14:05:00+02:00` or `22.11.2026`")
    assert not diary_marks("```json\n{\"occurred_at\": \"2026-12-01T21:40:00Z\"}\n```\n")
    assert not diary_marks("the `defaced` word, the number `1714550400`, the id `event_parent_idx`")


def _pages() -> list[Path]:
    pages = [ROOT / "README.md", *sorted(p for p in DOCS.rglob("*.md") if "_notes" not in p.relative_to(DOCS).parts)]
    assert len(pages) > 20
    return pages


def test_docs_and_readme_hold_no_commit_hashes_dates_of_work_or_run_logs():
    marks = {}
    for page in _pages():
        rel = str(page.relative_to(ROOT))
        found = [m for m in diary_marks(page.read_text()) if m.split(" ", 1)[1] not in ALLOWED_DATES.get(rel, set())]
        if found:
            marks[rel] = found
    assert not marks, f"dates of work, commit hashes or run logs belong in CHANGELOG.md or git, not here: {marks}"


def test_the_readme_is_short_and_points_into_the_docs():
    readme = (ROOT / "README.md").read_text()
    assert len(readme.splitlines()) <= 200
    for target in re.findall(r"\]\((docs/[^)#]+)", readme):
        assert (ROOT / target).exists(), target
    assert "docs/img/wall.png" in readme and "docs/img/main.png" in readme
    assert "make demo" in readme and "make test" in readme


def test_the_changelog_keeps_a_changelog():
    text = CHANGELOG.read_text()
    assert text.startswith("# Changelog")
    assert "## [Unreleased]" in text and "## [0.1.0]" in text


# Variables the docs may name that no settings class reads: the deployment's host side
# (docker-compose.yml) and the benchmarks' and tests' own knobs.
OTHER_VARIABLES = {"NSP_DB_PASSWORD", "NSP_SECTIONS_PATH"}
OTHER_PREFIXES = ("NSP_BENCH_", "NSP_TEST_", "NSP_FUZZ_", "NSP_PROPERTY_")


def test_every_variable_the_docs_name_is_one_nsp_reads():
    hook = _hook("settings_reference")
    known = ({name for _c, name, _d, _w in hook.setting_rows()} | hook.environ_names()
             | set(hook.option_envvars()) | OTHER_VARIABLES)
    compose = (ROOT / "docker-compose.yml").read_text()
    assert all(name in compose for name in OTHER_VARIABLES)
    stale = {}
    for page in _pages():
        names = set(re.findall(r"\bNSP_[A-Z0-9_]*[A-Z0-9]\b", page.read_text()))
        if unknown := sorted(n for n in names - known if not n.startswith(OTHER_PREFIXES)):
            stale[str(page.relative_to(ROOT))] = unknown
    assert not stale, f"named in the docs, read by nothing: {stale}"
