"""Single sign-on for tests: sites with keys, and tokens signed as a site's backend would
(PyJWT, real HS256 secrets and Ed25519 keys), or forged as an attacker would."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from dataclasses import dataclass
from typing import Any

import jwt
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey, generate_private_key
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from server.core.context import command_services
from server.core.sso_admin import add_sso_key, set_sso
from server.store.database import SqlStore
from tests.support.config import SECRET

HS256_SECRET = "a-shared-secret-of-the-site-backend-0123456789"


@dataclass
class SigningKey:
    kid: str
    algorithm: str
    private: Any  # what PyJWT signs with
    public: str  # what the site's owner gives Threadline

    def sign(self, claims: dict[str, Any], *, kid: str | None = "") -> str:
        headers = {} if kid is None else {"kid": kid or self.kid}
        return jwt.encode(claims, self.private, algorithm=self.algorithm, headers=headers)


def hs256_key(kid: str = "k1", secret: str = HS256_SECRET) -> SigningKey:
    return SigningKey(kid, "HS256", secret.encode(), secret)


def eddsa_key(kid: str = "ed1") -> SigningKey:
    private = Ed25519PrivateKey.generate()
    pem = private.public_key().public_bytes(Encoding.PEM, PublicFormat.SubjectPublicKeyInfo)
    return SigningKey(kid, "EdDSA", private, pem.decode())


def rs256_key(kid: str = "rs1") -> SigningKey:
    private: RSAPrivateKey = generate_private_key(public_exponent=65537, key_size=2048)
    pem = private.public_key().public_bytes(Encoding.PEM, PublicFormat.SubjectPublicKeyInfo)
    return SigningKey(kid, "RS256", private, pem.decode())


def claims(
    site: str, sub: str = "user-1", name: str = "Ada Lovelace", **more: Any
) -> dict[str, Any]:
    now = int(time.time())
    return {"sub": sub, "name": name, "aud": site, "iat": now, "exp": now + 300, **more}


async def enable_sso(
    store: SqlStore,
    site: str,
    *keys: SigningKey,
    policy: str = "sso-optional",
    moderators: bool = False,
) -> None:
    services = command_services(store, SECRET)
    await set_sso(services, site, policy=policy, moderators=moderators)
    for key in keys:
        await add_sso_key(services, site, kid=key.kid, algorithm=key.algorithm, material=key.public)


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def forged(header: dict[str, Any], payload: dict[str, Any], hmac_key: bytes | None) -> str:
    """A token put together by hand, as an attacker would: unsigned (``hmac_key`` None),
    or HS256 under a key the site never gave as a secret (a public key: algorithm
    confusion). PyJWT itself refuses to make either."""
    signing_input = _b64(json.dumps(header).encode()) + "." + _b64(json.dumps(payload).encode())
    if hmac_key is None:
        return signing_input + "."
    mac = hmac.new(hmac_key, signing_input.encode(), hashlib.sha256).digest()
    return signing_input + "." + _b64(mac)
