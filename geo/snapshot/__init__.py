"""The weekly snapshot export (issue 5): ``export.export_weekly`` and its parts."""
