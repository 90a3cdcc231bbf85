"""The moderators' pages: login, the live queue, site settings, audit log."""
