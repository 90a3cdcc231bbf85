"""The secret key kept in the data directory when none is configured."""

from __future__ import annotations

import os
import secrets
import time
from pathlib import Path

from server.settings.values import SettingsError


def secret_path(data_dir: str) -> Path:
    return Path(data_dir) / "secret.key"


def local_secret(data_dir: str, *, create: bool = True) -> str:
    """Generate a secret once per data directory, so restarts keep sessions valid; without
    ``create``, only read one that is there ("" if none)."""
    path = secret_path(data_dir)
    if not create:
        return path.read_text().strip() if path.is_file() else ""
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        # Another worker may have created it a moment ago and still be writing.
        for _ in range(50):
            secret = path.read_text().strip()
            if secret:
                return secret
            time.sleep(0.01)
        raise SettingsError(f"{path} is empty: delete it or set THREADLINE_SECRET_KEY") from None
    with os.fdopen(fd, "w") as fh:
        secret = secrets.token_urlsafe(48)
        fh.write(secret)
    return secret
