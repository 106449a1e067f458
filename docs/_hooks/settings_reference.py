"""MkDocs hook: reference/settings.md is generated from the code at build time.

Three tables replace the page's markers:

* ``<!-- settings:classes -->`` — every pydantic-settings class in nsp's packages (found by
  reading the sources, so a class that moves to another module is still found), one table per
  class: the environment variable (prefix + field), its default and its description;
* ``<!-- settings:environ -->`` — the variables read with ``os.environ`` outside those classes
  (found in the sources; their descriptions are in ``ENVIRON`` below);
* ``<!-- settings:options -->`` — the command options that fall back to an environment variable
  (click's ``envvar``), walked from the ``nsp`` command.

``tests/unit/test_docs.py`` imports this module and holds every name to the page.
"""

from __future__ import annotations

import ast
import importlib
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("nsp", "geo", "ingest", "dashboard")
PAGE = "reference/settings.md"

# Fields whose class gives no description.
FIELD_NOTES = {
    "NSP_DB_POOL_MIN": "smallest connection pool per process",
    "NSP_DB_POOL_MAX": "largest connection pool per process",
    "NSP_GEO_ROI": "region of interest (lon_min, lat_min, lon_max, lat_max) for plausibility checks on incoming "
                   "coordinates; a point outside it is quarantined (as *swapped* when the swap would bring it in)",
}

# Variables read with os.environ, outside the settings classes.
ENVIRON = {
    "DATABASE_URL": ("—", "libpq URL of the database; wins over `NSP_DB_URL` and over what `nsp db up` recorded"),
    "NSP_STATE_DIR": ("`.nsp` of the working directory", "the state folder: the URL `nsp db up` recorded, the "
                      "project-local cluster, the session key, the demo and the weekly exports; installed and run "
                      "elsewhere, the default is `/var/lib/nsp` as root, else `$XDG_STATE_HOME/nsp`"),
    "NSP_LOG_FORMAT": ("`logfmt`", "logs of `nsp watch`, `nsp listen` and `nsp worker`: `logfmt` or `json` "
                                   "(JSON lines)"),
    "NSP_LOG_LEVEL": ("`INFO`", "their log level (`WARNING`, `INFO`, `DEBUG`)"),
    "NSP_COT_OUT_TLS_PASSWORD": ("—", "the password of `nsp cot-out`'s client key or PKCS#12 files "
                                        "(`--tls-cert`, `--tls-ca`); from the environment only"),
    "NSP_ACTOR": ("the login name", "who does it: every command's `--actor`, recorded in the audit log "
                                    "and in decision rows"),
}

# os.environ, or an ``env`` mapping that defaults to it (nsp.settings.default_state_dir).
_ENVIRON_RE = re.compile(r"""\b(?:environ|env)(?:\.get\(|\[)\s*["']((?:NSP_|DATABASE_)[A-Z0-9_]+)["']""")


def _modules_with_settings() -> list[str]:
    """Modules of nsp's packages that define a class deriving from BaseSettings."""
    found = []
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            text = path.read_text(encoding="utf-8")
            if "BaseSettings" not in text:
                continue
            tree = ast.parse(text)
            if any(isinstance(node, ast.ClassDef)
                   and any(getattr(base, "id", getattr(base, "attr", None)) == "BaseSettings" for base in node.bases)
                   for node in ast.walk(tree)):
                found.append(".".join(path.relative_to(ROOT).with_suffix("").parts))
    return sorted(found, key=lambda name: name != "nsp.settings")  # the shared settings lead the page


def settings_classes() -> list[type]:
    """Every pydantic-settings class of nsp, in module order."""
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    from pydantic_settings import BaseSettings

    classes = []
    for name in _modules_with_settings():
        module = importlib.import_module(name)
        for obj in vars(module).values():
            if (isinstance(obj, type) and issubclass(obj, BaseSettings) and obj is not BaseSettings
                    and obj.__module__ == module.__name__):
                classes.append(obj)
    return classes


def _default(info) -> str:
    from pydantic_core import PydanticUndefined

    if info.default_factory is not None:
        try:
            value = info.default_factory()
        except TypeError:  # a factory that takes the validated data
            return "(computed)"
    elif info.default is PydanticUndefined:
        return "(required)"
    else:
        value = info.default
    if value is None or value == "":
        return "—"
    if isinstance(value, Path):
        try:
            value = value.relative_to(ROOT)
        except ValueError:
            pass
        return f"`{value}`"
    if isinstance(value, bool):
        return f"`{str(value).lower()}`"
    if isinstance(value, tuple):
        value = list(value)
    if isinstance(value, (list, dict)):
        import json

        return f"`{json.dumps(value, ensure_ascii=False)}`"
    return f"`{value}`"


def _cell(text: str) -> str:
    return " ".join(str(text).split()).replace("|", "\\|")


def setting_rows() -> list[tuple[str, str, str, str]]:
    """(class, variable, default, description) of every field of every settings class."""
    rows = []
    for cls in settings_classes():
        prefix = cls.model_config.get("env_prefix", "")
        for field, info in cls.model_fields.items():
            name = f"{prefix}{field}".upper()
            rows.append((f"{cls.__module__}.{cls.__name__}", name, _default(info),
                         info.description or FIELD_NOTES.get(name, "")))
    return rows


def environ_names() -> set[str]:
    """Variables the sources read with os.environ."""
    names = set()
    for package in PACKAGES:
        for path in (ROOT / package).rglob("*.py"):
            names |= set(_ENVIRON_RE.findall(path.read_text(encoding="utf-8")))
    return names


def option_envvars() -> dict[str, list[str]]:
    """Environment variable → the command options that read it."""
    import click

    from nsp.cli import cli

    found: dict[str, list[str]] = {}

    def walk(cmd, path):
        if isinstance(cmd, click.Group):
            ctx = click.Context(cmd, info_name=path[-1])
            for name in cmd.list_commands(ctx):
                walk(cmd.get_command(ctx, name), [*path, name])
        for param in cmd.params:
            envvars = param.envvar if isinstance(param.envvar, (list, tuple)) else [param.envvar]
            for envvar in filter(None, envvars):
                option = max(param.opts, key=len) if param.opts else param.name
                found.setdefault(envvar, []).append(f"`{' '.join(path)} {option}`")

    walk(cli, ["nsp"])
    return found


def classes_markdown() -> str:
    out = []
    current = None
    for cls_name, name, default, description in setting_rows():
        if cls_name != current:
            current = cls_name
            cls = next(c for c in settings_classes() if f"{c.__module__}.{c.__name__}" == cls_name)
            doc = (cls.__doc__ or "").strip().split("\n\n")[0]
            doc = " ".join(doc.split()).replace("``", "`")
            out += ["", f"### `{cls.model_config.get('env_prefix', '')}*` — `{cls_name}`", ""]
            if doc:
                out += [doc, ""]
            out += ["| variable | default | what |", "| --- | --- | --- |"]
        out.append(f"| `{name}` | {_cell(default)} | {_cell(description)} |")
    return "\n".join(out) + "\n"


def environ_markdown() -> str:
    out = ["| variable | default | what |", "| --- | --- | --- |"]
    for name in sorted(environ_names() | set(ENVIRON)):
        default, what = ENVIRON.get(name, ("—", ""))
        out.append(f"| `{name}` | {default} | {_cell(what)} |")
    return "\n".join(out) + "\n"


def options_markdown() -> str:
    out = ["| variable | read by |", "| --- | --- |"]
    for name, options in sorted(option_envvars().items()):
        out.append(f"| `{name}` | {', '.join(sorted(set(options)))} |")
    return "\n".join(out) + "\n"


def render(markdown: str) -> str:
    """The page with its markers replaced by the generated tables."""
    for marker, make in (("<!-- settings:classes -->", classes_markdown),
                         ("<!-- settings:environ -->", environ_markdown),
                         ("<!-- settings:options -->", options_markdown)):
        if marker in markdown:
            markdown = markdown.replace(marker, make())
    return markdown


def on_page_markdown(markdown, page, config, files, **kwargs):  # noqa: ARG001 - MkDocs hook signature
    if page.file.src_uri == PAGE:
        return render(markdown)
    return markdown
