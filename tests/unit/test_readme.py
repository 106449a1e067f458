"""The README documents every command, option and setting: each is named in it."""

from __future__ import annotations

import click

from nsp.cli import cli
from tests.unit.test_compose import ROOT, _settings_env_names

README = (ROOT / "README.md").read_text()


def _commands(cmd: click.Command, path: list[str]):
    """Every command under ``cmd`` with its full name (the groups load theirs lazily)."""
    if isinstance(cmd, click.Group):
        ctx = click.Context(cmd, info_name=path[-1])
        for name in cmd.list_commands(ctx):
            yield from _commands(cmd.get_command(ctx, name), [*path, name])
    else:
        yield " ".join(path), cmd


def test_every_command_and_its_options_are_in_the_readme():
    commands = dict(_commands(cli, ["nsp"]))
    assert len(commands) > 40 and "nsp listen" in commands  # the walk reached the sub-commands
    missing = [name for name in commands if name not in README]
    missing += [f"{name} {opt}" for name, cmd in commands.items() for p in cmd.params for opt in p.opts
                if opt.startswith("--") and opt not in README]
    assert not missing, f"not in README.md: {missing}"


def test_every_setting_is_in_the_readme():
    names = _settings_env_names()
    assert "NSP_LISTEN_TAK_PASSWORD" in names  # the settings classes were read
    assert not (missing := sorted(n for n in names if n not in README)), f"not in README.md: {missing}"
