"""Values sealed with a key derived from the server's secret: whoever holds the sealed text
(an owner reading an export) learns nothing, and only this server can open it again.

AES-256-GCM from the ``cryptography`` package, with a fresh random nonce per value (two
seals of one value differ, so sealed values cannot be matched up either) and a key derived
per purpose with HKDF, so a value sealed for one purpose never opens for another."""

from __future__ import annotations

import base64
import binascii
import os

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

PREFIX = "sealed.v1."
_NONCE = 12


class Sealer:
    def __init__(self, secret: str, purpose: str) -> None:
        key = HKDF(
            algorithm=hashes.SHA256(),
            length=32,
            salt=None,
            info=f"threadline sealing v1: {purpose}".encode(),
        ).derive(secret.encode())
        self._aead = AESGCM(key)
        self._purpose = purpose.encode()

    def seal(self, value: str) -> str:
        nonce = os.urandom(_NONCE)
        sealed = self._aead.encrypt(nonce, value.encode(), self._purpose)
        return PREFIX + base64.urlsafe_b64encode(nonce + sealed).decode().rstrip("=")

    def open(self, sealed: str) -> str | None:
        """The value, or None when it was not sealed by this server for this purpose."""
        if not sealed.startswith(PREFIX):
            return None
        text = sealed.removeprefix(PREFIX)
        try:
            raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
            return self._aead.decrypt(raw[:_NONCE], raw[_NONCE:], self._purpose).decode()
        except (binascii.Error, ValueError, InvalidTag, UnicodeDecodeError):
            return None
