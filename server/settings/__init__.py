"""All configuration, read once from ``THREADLINE_*`` environment variables."""

from server.settings.definition import DEFAULT, ENVIRONMENT, GENERATED, Settings
from server.settings.values import SettingsError, database_url_problem

__all__ = [
    "DEFAULT",
    "ENVIRONMENT",
    "GENERATED",
    "Settings",
    "SettingsError",
    "database_url_problem",
]
