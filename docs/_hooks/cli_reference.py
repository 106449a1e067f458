"""MkDocs hook: every `nsp` command is loaded before mkdocs-click renders reference/cli.md.

`nsp`'s groups load their sub-commands lazily (`nsp.cli.NspGroup`: an area's module is imported
when its command is used). mkdocs-click lists a group's `commands` when it has any, so without
this it would render only the commands that happen to be loaded. Asking each group for each
name it lists loads and registers them all, recursively.
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def load_all_commands(command=None, path=("nsp",)) -> dict[str, object]:
    """Load every command under `command` (default: `nsp`); return them by full name."""
    import click

    if command is None:
        if str(ROOT) not in sys.path:
            sys.path.insert(0, str(ROOT))
        from nsp.cli import cli as command
    found = {" ".join(path): command}
    if isinstance(command, click.Group):
        ctx = click.Context(command, info_name=path[-1])
        for name in command.list_commands(ctx):
            sub = command.get_command(ctx, name)
            if sub is None:
                raise RuntimeError(f"{' '.join(path)} lists {name!r} but cannot load it")
            if name not in command.commands:
                command.add_command(sub, name)
            found.update(load_all_commands(sub, (*path, name)))
    return found


def on_config(config, **kwargs):  # noqa: ARG001 - MkDocs hook signature
    load_all_commands()
    return config


def on_page_content(html, page, **kwargs):  # noqa: ARG001 - MkDocs hook signature
    # click 8.3 marks "no default" with a sentinel that mkdocs-click prints as it is
    if page.file.src_uri == "reference/cli.md":
        html = html.replace("<code>Sentinel.UNSET</code>", "")
    return html
