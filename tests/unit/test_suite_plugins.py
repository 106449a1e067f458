"""The suite loads only the pytest plugins it uses (pyproject.toml's addopts).

Every package that registers a pytest plugin is assertion-rewritten by pytest when the plugin
is loaded by its entry point: with dash's plugin (dash.testing, not used here) that was some
200 of dash's modules and 73 of hypothesis's, parsed and rewritten again in every test
process (PYTHONDONTWRITEBYTECODE keeps pytest from caching them)."""

from __future__ import annotations

import sys


def test_only_the_plugins_the_suite_uses_are_loaded(pytestconfig):
    names = {name for name, _plugin in pytestconfig.pluginmanager.list_name_plugin() if name}
    assert {"xdist.plugin", "xdist.looponfail", "_hypothesis_pytestplugin"} <= names
    assert not {"dash", "platformdirs", "dash.testing.plugin", "platformdirs.pytest_plugin"} & names
    assert not [m for m in sys.modules if m.startswith("dash.testing")]
    assert pytestconfig.getoption("hypothesis_profile", default="missing") != "missing"  # its options are there
