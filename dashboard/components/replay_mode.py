"""The replay's switch: how a replay shows the past (nsp.vocab.REPLAY_MODES), beside the
replay slider on the main page; its value is ``replay=`` in the page's link
(dashboard/state.py)."""

from __future__ import annotations

from dash import dcc

from dashboard.i18n import t


def switch(value: str | None, lang: str) -> dcc.RadioItems:
    return dcc.RadioItems(id="main-replay-mode", options=[
        {"label": t("as known then", lang), "value": "known",
         "title": t("only the reports received by then, with the decisions taken by then", lang)},
        {"label": t("as happened", lang), "value": "happened",
         "title": t("every event that occurred by then, from all the reports held now", lang)},
    ], value=value or "known", inline=True, className="nsp-segmented nsp-replay-mode")
