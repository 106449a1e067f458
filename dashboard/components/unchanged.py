"""What a refreshing page is sent: only the parts that changed since the last answer.

The main view and the wall ask the server again every few seconds. Most answers are what the
browser already shows, and drawing them again is not free: Leaflet rebuilds a layer given the
same data (every marker replaced, the labels placed again, an open popup closed), React builds
a table again, AG Grid its rows, Plotly the chart. On an unattended wall or an open desk view,
that was the browser's main work.

A callback registered with :func:`callback` gets one more output and one more state: a Store
(``digests``) of the fingerprints of what it sent last. An output whose value has the
fingerprint the browser holds is answered with ``no_update``; so are the values the callback
itself answers with ``no_update``. A new page starts with an empty Store, so its first answer
sends everything.

A page can bring its first picture in its layout (:func:`first_paint`): the parts' values
and the fingerprints of them, so that it is complete on its first paint and its callbacks,
registered with ``prevent_initial_call=True``, send nothing until something changes.

A property that another callback or a script of the page also writes must not be registered
so: the fingerprint would say the browser holds what it no longer holds.
"""

from __future__ import annotations

import contextvars
import hashlib
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import dash
import orjson
from dash import Output, State, dcc, no_update


def _plain(value):
    """A Dash component or a Plotly figure as the JSON Dash would send of it."""
    to_json = getattr(value, "to_plotly_json", None)
    if to_json is None:
        raise TypeError(f"not JSON: {type(value).__name__}")
    return to_json()


def digest(value) -> str:
    """A short fingerprint of an output's value (GeoJSON, a component tree, a figure)."""
    data = orjson.dumps(value, default=_plain, option=orjson.OPT_SERIALIZE_NUMPY | orjson.OPT_NON_STR_KEYS)
    return hashlib.blake2b(data, digest_size=8).hexdigest()


def changed_only(values: list, sent: list | None) -> tuple[list, list]:
    """``values`` with ``no_update`` in place of each one whose fingerprint is in ``sent`` (the
    fingerprints returned last time) at its place, and the fingerprints the browser holds after
    this answer (a ``no_update`` of the callback's own keeps the one it had)."""
    sent = list(sent or [])
    out, digests = [], []
    for i, value in enumerate(values):
        held = sent[i] if i < len(sent) else None
        if value is no_update:
            out.append(no_update)
            digests.append(held)
            continue
        d = digest(value)
        out.append(no_update if d == held else value)
        digests.append(d)
    return out, digests


def wrap(update, single: bool = False):
    """``update`` (whose last argument is now the Store's fingerprints) answering only what
    changed, and the new fingerprints as its last output (``no_update`` when they are those
    the Store holds)."""
    def run(*args):
        *args, sent = args
        out = update(*args)
        data, digests = changed_only([out] if single else list(out), sent)
        # nothing changed: an empty answer, which the browser has nothing to do with
        return [*data, no_update if digests == sent else digests]
    run.__name__ = getattr(update, "__name__", "run")
    run.__doc__ = update.__doc__
    return run


# Every callback registered with :func:`callback` in this process: (the ids of its outputs and
# inputs, its Store), for the check that each page's layout holds what they name.
REGISTERED: list[tuple[tuple[str, ...], str]] = []


def stores(*ids: str) -> list[dcc.Store]:
    """The Stores of a page's callbacks registered with :func:`callback`, for its layout."""
    return [dcc.Store(id=i) for i in ids]


def callback(outputs: list[Output], *dependencies, digests: str, **kwargs):
    """Register ``update`` (a decorator) as ``dash.callback(outputs, *dependencies)`` that sends
    only what changed; ``digests`` is the id of the page's Store for it (which the page's
    layout must hold: ``dcc.Store(id=digests)``). Returns ``update`` itself, for its tests."""
    single = isinstance(outputs, Output)
    outs = [outputs] if single else list(outputs)

    def register(update):
        dash.callback([*outs, Output(digests, "data")], *dependencies, State(digests, "data"),
                      **kwargs)(wrap(update, single))
        named = [o.component_id for o in outs] + [d.component_id for d in dependencies]
        REGISTERED.append((tuple(i for i in named if isinstance(i, str)), digests))
        return update
    return register


@dataclass(frozen=True)
class Part:
    """A refreshing part of a page: its callback's outputs, the Store of what the browser holds
    of them, and ``first(state)``, the callback's values for a page of that state."""

    outputs: tuple[Output, ...]
    digests: str
    first: Callable[[dict], object]


def first_paint(parts: list[Part], state: dict, workers: int = 4) -> dict:
    """The parts' values for the page's layout, {id: {property: value}} (what
    mapview.fill_initial sets), with each part's Store of fingerprints; computed in parallel,
    each in a copy of the request's context (its user, language and scope)."""
    with ThreadPoolExecutor(max_workers=max(1, min(workers, len(parts)))) as pool:
        futures = [(part, pool.submit(contextvars.copy_context().run, part.first, state)) for part in parts]
        values: dict = {}
        for part, future in futures:
            result = future.result()
            result = [result] if len(part.outputs) == 1 else list(result)
            for output, value in zip(part.outputs, result, strict=True):
                if value is not no_update:
                    values.setdefault(output.component_id, {})[output.component_property] = value
            values[part.digests] = {"data": changed_only(result, None)[1]}
    return values
