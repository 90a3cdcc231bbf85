"""Single sign-on tokens: a site's backend signs one for its logged-in reader (a JWT, read
with PyJWT), and the server answers it with a session of its own.

A site's token is checked against the site's keys only: the key named by ``kid`` (or, with
no ``kid``, each key of the token's algorithm), and only with the algorithm that key was
configured for, never the one the token names, so an HS256 token made with a public key as
its secret (algorithm confusion) or an unsigned one (``alg: none``) is refused. Each refusal
has its own code, which the site's developers see while they wire it up."""

from __future__ import annotations

import math
import re
import unicodedata
from dataclasses import dataclass
from typing import Any, TypeGuard

import jwt
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPublicKey
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from cryptography.hazmat.primitives.serialization import load_pem_public_key

from server.core.errors import Invalid, Unauthorized
from server.core.models import Site, SsoKey
from server.core.sealing import Sealer
from server.core.text import clean_name, clean_url
from server.core.urls import read_web_url

ALGORITHMS = ("HS256", "EdDSA", "RS256")
SKEW_SECONDS = 60  # clocks of the site's backend and this server may differ this much
TOKEN_MAX = 8192
SUBJECT_MAX = 255
AVATAR_MAX = 2048
HS256_SECRET_MIN = 32  # bytes: RFC 7518 asks for a key as long as the hash
HS256_DISTINCT_MIN = 12
RSA_BITS_MIN = 2048
SESSION_SECONDS = 12 * 3600
TOKEN_LIFETIME_MAX = 15 * 60
_KID = re.compile(r"[A-Za-z0-9._-]{1,64}")
_SITE_ID = re.compile(r"[a-z0-9][a-z0-9_-]{0,63}")


@dataclass(frozen=True, slots=True)
class Reader:
    """Who a site's token says its reader is."""

    subject: str
    name: str
    avatar: str | None
    moderator: bool


def _refuse(code: str, message: str) -> Unauthorized:
    return Unauthorized(code, message)


def check_kid(kid: object) -> str:
    if not isinstance(kid, str) or not _KID.fullmatch(kid):
        raise Invalid("invalid_kid", "a key id is 1-64 letters, digits or '._-'")
    return kid


def check_key(algorithm: str, material: str) -> str:
    """The key material as stored, once it is a key the algorithm can verify with: a secret
    of at least 32 bytes (HS256), or a PEM public key of the right kind (EdDSA: Ed25519;
    RS256: RSA of at least 2048 bits). A private key is refused: this server only verifies."""
    if algorithm not in ALGORITHMS:
        raise Invalid("invalid_algorithm", "the algorithm must be one of: " + ", ".join(ALGORITHMS))
    if algorithm == "HS256":
        # Not an entropy estimate: a guard against the obvious (a blank, a repeated
        # character, a pasted control sequence). Owners are steered to a generated one.
        if (
            len(material.encode()) < HS256_SECRET_MIN
            or len(set(material)) < HS256_DISTINCT_MIN
            or any(unicodedata.category(ch)[0] in "CZ" for ch in material)
        ):
            raise Invalid(
                "weak_sso_secret",
                f"an HS256 secret must be at least {HS256_SECRET_MIN} bytes of varied "
                "printable characters: generate one (`threadline sso key add --generate`)",
            )
        return material
    if "PRIVATE KEY" in material:
        raise Invalid("private_key_given", "give the public key: this server only verifies")
    try:
        key = load_pem_public_key(material.strip().encode())
    except (ValueError, TypeError, UnsupportedAlgorithm):  # a curve OpenSSL lacks, say
        raise Invalid("invalid_public_key", "the key is not a PEM public key") from None
    if algorithm == "EdDSA" and not isinstance(key, Ed25519PublicKey):
        raise Invalid("invalid_public_key", "EdDSA keys must be Ed25519 public keys")
    if algorithm == "RS256" and not (
        isinstance(key, RSAPublicKey) and key.key_size >= RSA_BITS_MIN
    ):
        raise Invalid(
            "invalid_public_key", f"RS256 keys must be RSA public keys of {RSA_BITS_MIN}+ bits"
        )
    return material.strip() + "\n"


def seal_key(secret: str, key: SsoKey) -> SsoKey:
    """A key as stored: an HS256 secret is sealed (a database dump must not sign tokens)."""
    if key.algorithm != "HS256":
        return key
    sealed = Sealer(secret, "sso-key").seal(key.material)
    return SsoKey(key.site_id, key.kid, key.algorithm, sealed, key.created_at)


def _verifying_key(secret: str, key: SsoKey) -> Any:
    if key.algorithm == "HS256":
        opened = Sealer(secret, "sso-key").open(key.material)
        return None if opened is None else opened.encode()
    return load_pem_public_key(key.material.encode())


def read_site_token(
    site: Site, keys: list[SsoKey], token: object, *, secret: str, now_ms: int
) -> Reader:
    """The reader a site's token vouches for, or a refusal saying what is wrong with it."""
    if not isinstance(token, str) or not token or len(token) > TOKEN_MAX:
        raise _refuse("sso_token_malformed", "the sign-in token is missing or too long")
    try:
        header = jwt.get_unverified_header(token)
        claims = jwt.decode(token, options={"verify_signature": False})
    except jwt.PyJWTError:
        raise _refuse("sso_token_malformed", "the sign-in token is not a JWT") from None
    algorithm = header.get("alg")
    if not isinstance(algorithm, str):
        raise _refuse("sso_token_malformed", "the sign-in token's header has no algorithm")
    if algorithm.lower() == "none":
        raise _refuse("sso_unsigned_token", "the sign-in token is not signed (alg: none)")
    _check_audience(site, claims.get("aud"))
    verified = _verify_signature(site, keys, token, header, secret)
    _check_times(verified, now_ms)
    return _reader(site, verified)


def _check_audience(site: Site, audience: object) -> None:
    # Read before the signature only to say what is wrong: nothing here is trusted yet.
    audiences = audience if isinstance(audience, list) else [audience]
    if site.id in audiences:
        return
    others = [a for a in audiences if isinstance(a, str) and _SITE_ID.fullmatch(a)]
    if others:
        raise _refuse(
            "sso_wrong_site",
            f"the sign-in token was made for site {others[0]!r}, not {site.id!r}",
        )
    raise _refuse("sso_wrong_audience", f"the sign-in token's aud must be {site.id!r}")


def _verify_signature(
    site: Site, keys: list[SsoKey], token: str, header: dict[str, Any], secret: str
) -> dict[str, Any]:
    kid = header.get("kid")
    named = [k for k in keys if k.kid == kid] if kid is not None else list(keys)
    if not named:
        # ascii(): whatever the header holds (a lone surrogate) is echoed as plain ASCII.
        raise _refuse(
            "sso_unknown_key",
            f"site {site.id!r} has no sign-in key {ascii(kid)[:80]}"
            if kid is not None
            else f"site {site.id!r} has no sign-in keys",
        )
    candidates = [k for k in named if k.algorithm == header["alg"]]
    if not candidates:
        raise _refuse(
            "sso_algorithm_mismatch",
            f"the sign-in token says {ascii(header['alg'])[:40]}; "
            f"the key is for {named[0].algorithm}",
        )
    for key in candidates:
        verifying = _verifying_key(secret, key)
        if verifying is None:
            continue  # sealed under another server secret: it cannot verify anything
        try:
            verified: dict[str, Any] = jwt.decode(
                token,
                verifying,
                algorithms=[key.algorithm],
                options={
                    "verify_aud": False,
                    "verify_exp": False,
                    "verify_iat": False,
                    "verify_nbf": False,
                    "verify_iss": False,
                    "verify_sub": False,
                    "verify_jti": False,
                },
            )
        except jwt.InvalidSignatureError:
            continue
        except jwt.PyJWTError:
            raise _refuse("sso_token_malformed", "the sign-in token cannot be read") from None
        return verified
    raise _refuse("sso_bad_signature", "the sign-in token's signature does not match the key")


def _check_times(claims: dict[str, Any], now_ms: int) -> None:
    now = now_ms / 1000
    expires, issued, not_before = claims.get("exp"), claims.get("iat"), claims.get("nbf", 0)
    if not (_number(expires) and _number(issued) and _number(not_before)):
        raise _refuse("sso_invalid_claim", "the sign-in token needs numeric exp and iat claims")
    if expires <= now - SKEW_SECONDS:
        raise _refuse("sso_token_expired", "the sign-in token has expired")
    if max(issued, not_before) > now + SKEW_SECONDS:
        raise _refuse("sso_token_not_yet_valid", "the sign-in token is dated in the future")
    # It sits in a page's HTML, which may be copied or cached: it must not outlive a visit.
    if expires - issued > TOKEN_LIFETIME_MAX:
        raise _refuse(
            "sso_token_too_long_lived",
            f"a sign-in token may live {TOKEN_LIFETIME_MAX // 60} minutes at most (exp - iat)",
        )


def _number(value: object) -> TypeGuard[int | float]:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def _reader(site: Site, claims: dict[str, Any]) -> Reader:
    subject = claims.get("sub")
    if (
        not isinstance(subject, str)
        or not 0 < len(subject) <= SUBJECT_MAX
        or any(unicodedata.category(ch) in ("Cc", "Cs", "Cn") for ch in subject)
    ):
        raise _refuse(
            "sso_invalid_claim",
            f"sub must be the user's id: 1-{SUBJECT_MAX} characters, no control characters",
        )
    try:
        name = clean_name(claims.get("name"))
    except Invalid as error:
        raise _refuse("sso_invalid_claim", f"name: {error.message}") from None
    if name is None:
        raise _refuse("sso_invalid_claim", "the sign-in token needs a name")
    role = claims.get("role")
    return Reader(
        subject=subject,
        name=name,
        avatar=avatar_url(claims.get("avatar")),
        moderator=role == "moderator" and site.sso.moderators,
    )


def avatar_url(value: object) -> str | None:
    """An avatar as readers' browsers may load it: an https URL without credentials."""
    if value is None or value == "":
        return None
    try:
        url = clean_url(value)
    except Invalid as error:
        raise _refuse("sso_invalid_claim", f"avatar: {error.message}") from None
    if url is None or not url.startswith("https://") or len(url) > AVATAR_MAX:
        raise _refuse("sso_invalid_claim", "avatar must be an https URL")
    # Every reader's browser loads it: not an address on their own network.
    host = read_web_url(url)
    if not host.domain or host.host == "localhost" or host.host.endswith(".localhost"):
        raise _refuse("sso_invalid_claim", "avatar must be on a named https host")
    return url


@dataclass(frozen=True, slots=True)
class SessionClaims:
    identity_id: int
    born: int  # the identity row's created_at: SQLite may give a deleted row's id again
    epoch: int
    since: int = 0  # when it was issued (ms): a sign-out ends the sessions from before it


class Sessions:
    """The sessions this server gives signed-in readers: a JWT of its own (HS256 under a key
    derived from the server's secret), naming the site, the identity's row and the site's
    sign-in epoch (nothing a reader could link to anything: the row id is only looked up)."""

    def __init__(self, secret: str) -> None:
        self._key = HKDF(
            algorithm=hashes.SHA256(), length=32, salt=None, info=b"threadline reader sessions v1"
        ).derive(secret.encode())

    def issue(self, site_id: str, claims: SessionClaims, now_ms: int) -> tuple[str, int]:
        """A session token and when it expires (ms)."""
        expires = now_ms + SESSION_SECONDS * 1000
        token = jwt.encode(
            {
                "iss": "threadline",
                "aud": site_id,
                "sub": str(claims.identity_id),
                "born": claims.born,
                "epoch": claims.epoch,
                "since": now_ms,
                "iat": now_ms // 1000,
                "exp": expires // 1000,
            },
            self._key,
            algorithm="HS256",
            headers={"typ": "threadline-session"},
        )
        return token, expires

    def open(self, site_id: str, token: str, now_ms: int) -> SessionClaims:
        """What a session this server issued for this site says, while it lasts (the caller
        checks the identity is still there and the epoch still the site's)."""
        try:
            claims = jwt.decode(
                token,
                self._key,
                algorithms=["HS256"],
                audience=site_id,
                issuer="threadline",
                options={
                    "verify_exp": False,
                    "require": ["exp", "sub", "aud", "iss", "epoch", "born", "since"],
                },
            )
        except jwt.PyJWTError:
            raise _refuse("invalid_session", "this session was not issued for this site") from None
        if not _number(claims["exp"]) or claims["exp"] * 1000 <= now_ms:
            raise _refuse("session_expired", "your session has ended: sign in again")
        subject, born, epoch, since = (claims[k] for k in ("sub", "born", "epoch", "since"))
        if not (
            isinstance(subject, str)
            and subject.isdigit()
            and all(type(value) is int for value in (born, epoch, since))
        ):
            raise _refuse("invalid_session", "this session was not issued for this site")
        return SessionClaims(int(subject), born, epoch, since)


def looks_like_session(token: str) -> bool:
    """Sessions are JWTs (three dotted parts); author tokens never hold a dot."""
    return token.count(".") == 2
