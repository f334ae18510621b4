"""The keys that sign ID tokens (SPEC §12; RFC 7517, RFC 7518 §3.3–3.4, RFC 7638).

Every node holds the same keys, read from the database; each key's private part is stored
encrypted with AES-GCM under a key derived (HKDF-SHA256) from the server's secret key
(``WTP_SECRET_KEY``, or the one the server generated on first start).

**Rotation without a gap.** A relying party that meets an unknown ``kid`` fetches the JWKS
again, so a key must be listed by every node *before* any node signs with it. ``rotate``
therefore writes each new key *published but not yet signing*: its ``activates_at`` lies
:data:`ACTIVATION_DELAY` ahead. Every node reloads the keys from the database every
:data:`RELOAD_INTERVAL` seconds, in the background and never on a request's path, so within
that interval every node lists the new key; at ``activates_at`` every node, by its own clock,
signs with it — five seconds after the rotation, inside SPEC §12's ten. The key it replaces
gets ``retires_at`` = that moment, stays published while ID tokens it signed may still be valid
(``WTP_ID_TOKEN_TTL`` after it retired, plus :data:`RETIRED_KEY_GRACE` for a node that was
late to reload), and is then dropped by ``wtp-oauth purge``.

The first keys of a new database sign at once: no token exists that could need them earlier,
and the node that creates them has them before it serves. Nodes' clocks are assumed to agree
to within a second or two (NTP), as they must for every token's expiry anyway.

A node whose secret key opens none of the current keys (``WTP_SECRET_KEY`` set after the
server ran with a generated one, say) makes new keys that sign at once, as on a first start,
and logs why; the keys it cannot open stay published until their tokens have expired. Every
node of one deployment must share the secret key (its CSRF tokens need that too).
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import logging
import os
from collections.abc import AsyncIterator, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import ECKey, KeySet, RSAKey

from wtp_oauth.clock import Clock
from wtp_oauth.errors import ServiceUnavailable

log = logging.getLogger("wtp_oauth.keys")

#: The JWS algorithms ID tokens are signed with; the first is the default (SPEC §11, §12).
ALGORITHMS: tuple[str, ...] = ("ES256", "RS256")
#: How often every node reads the keys again, in seconds.
RELOAD_INTERVAL = 2.0
#: How long a new key is published before it signs: well over one reload interval.
ACTIVATION_DELAY = timedelta(seconds=5)
#: Extra time a retired key stays published, beyond the ID token lifetime.
RETIRED_KEY_GRACE = timedelta(minutes=1)

_HKDF_INFO = b"wtp-oauth id token signing keys v1"
_NONCE_BYTES = 12

PrivateKey = ECKey | RSAKey


class KeyDecryptionError(ValueError):
    """A stored private key does not open under this server's secret key."""


@dataclass(frozen=True, slots=True)
class StoredKey:
    """A signing key as the database keeps it (``models.SigningKey``)."""

    kid: str
    alg: str
    public_jwk: Mapping[str, Any]
    private_key: str
    created_at: datetime
    activates_at: datetime
    retires_at: datetime | None = None

    def published_until(self, id_token_ttl: int) -> datetime | None:
        """When no ID token this key signed can still be valid (None: it still signs)."""
        if self.retires_at is None:
            return None
        return self.retires_at + timedelta(seconds=id_token_ttl) + RETIRED_KEY_GRACE


class KeyStorage(Protocol):
    """Where the keys live (``repositories/signing_keys.py``)."""

    async def all_keys(self) -> list[StoredKey]: ...

    async def add_first_keys(self, keys: Sequence[StoredKey]) -> bool:
        """Store the very first keys, unless another node did already (False then)."""

    async def rotate(self, keys: Sequence[StoredKey]) -> None:
        """Store ``keys`` and retire, at each new key's ``activates_at``, every key of its
        ``alg`` that has not been retired yet: one transaction."""


def _cipher(secret_key: str) -> AESGCM:
    hkdf = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=_HKDF_INFO)
    return AESGCM(hkdf.derive(secret_key.encode("utf-8")))


def _aad(kid: str, alg: str) -> bytes:
    # Binds each ciphertext to its row: a private key moved to another row does not open.
    return f"{kid}:{alg}".encode()


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode("ascii")


def new_key(alg: str, secret_key: str, now: datetime, activates_at: datetime) -> StoredKey:
    """A fresh key pair for ``alg`` (ES256: P-256; RS256: 2048-bit RSA), ``kid`` its RFC 7638
    thumbprint, the private part encrypted."""
    private: ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey
    if alg == "ES256":
        private = ec.generate_private_key(ec.SECP256R1())
        jwk: PrivateKey = ECKey.import_key(private)
    elif alg == "RS256":
        private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        jwk = RSAKey.import_key(private)
    else:
        raise ValueError(f"unsupported signing algorithm {alg!r}")
    kid = jwk.thumbprint()
    pem = private.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    nonce = os.urandom(_NONCE_BYTES)
    sealed = nonce + _cipher(secret_key).encrypt(nonce, pem, _aad(kid, alg))
    public = {**jwk.as_dict(private=False), "kid": kid, "use": "sig", "alg": alg}
    return StoredKey(kid, alg, public, _b64(sealed), now, activates_at)


def _open(key: StoredKey, cipher: AESGCM) -> PrivateKey:
    sealed = base64.urlsafe_b64decode(key.private_key)
    nonce, body = sealed[:_NONCE_BYTES], sealed[_NONCE_BYTES:]
    try:
        pem = cipher.decrypt(nonce, body, _aad(key.kid, key.alg))
    except InvalidTag as exc:
        raise KeyDecryptionError(
            f"signing key {key.kid} does not open under this server's secret key: "
            "WTP_SECRET_KEY differs from the one the keys were stored under"
        ) from exc
    loaded: PrivateKey = (ECKey if key.alg == "ES256" else RSAKey).import_key(pem)
    return loaded


@dataclass(frozen=True, slots=True)
class _Loaded:
    stored: StoredKey
    private: PrivateKey | None


class KeyRing:
    """This node's copy of the signing keys: what it signs with and what it publishes."""

    def __init__(self, secret_key: str, id_token_ttl: int) -> None:
        self._cipher = _cipher(secret_key)
        self._id_token_ttl = id_token_ttl
        self._keys: dict[str, _Loaded] = {}

    def load(self, stored: Iterable[StoredKey]) -> None:
        """Take the database's keys as this node's. A key whose private part does not open
        under this node's secret key is published but never signed with."""
        keys: dict[str, _Loaded] = {}
        for key in stored:
            known = self._keys.get(key.kid)
            if known is not None:
                keys[key.kid] = _Loaded(key, known.private)
                continue
            private = None
            try:
                private = _open(key, self._cipher)
            except KeyDecryptionError as exc:
                log.error("%s", exc)
            keys[key.kid] = _Loaded(key, private)
        self._keys = keys

    def has_current(self, now: datetime) -> bool:
        return all(self._current(alg, now) is not None for alg in ALGORITHMS)

    def _current(self, alg: str, now: datetime) -> _Loaded | None:
        usable = [
            key
            for key in self._keys.values()
            if key.stored.alg == alg and key.private is not None and key.stored.activates_at <= now
        ]
        return max(usable, key=lambda k: (k.stored.activates_at, k.stored.kid), default=None)

    def sign(self, claims: Mapping[str, Any], alg: str, now: datetime) -> str:
        """A JWS (compact JWT, RFC 7519) of ``claims`` with the current ``alg`` key."""
        current = self._current(alg, now)
        if current is None or current.private is None:
            # Not loaded yet: the database was out of reach when this node started.
            raise ServiceUnavailable(f"no {alg} signing key is loaded")
        header = {"alg": alg, "kid": current.stored.kid, "typ": "JWT"}
        return jwt.encode(header, dict(claims), current.private, algorithms=[alg])

    def published(self, now: datetime) -> list[dict[str, Any]]:
        """The public JWKs to list (RFC 7517 §5): every key until its tokens have expired."""
        listed = []
        for key in sorted(self._keys.values(), key=lambda k: k.stored.created_at):
            until = key.stored.published_until(self._id_token_ttl)
            if until is None or until > now:
                listed.append(dict(key.stored.public_jwk))
        return listed

    def verified_claims(self, token: str, now: datetime) -> dict[str, Any] | None:
        """The claims of a JWT this server signed with a published key, whether or not it
        has expired (an ``id_token_hint`` may have: OpenID Connect Core §3.1.2.1); None if
        the signature does not hold."""
        try:
            keys = KeySet(
                [
                    ECKey.import_key(jwk) if jwk["kty"] == "EC" else RSAKey.import_key(jwk)
                    for jwk in self.published(now)
                ]
            )
            decoded = jwt.decode(token, keys, algorithms=list(ALGORITHMS))
        except (JoseError, ValueError, TypeError):
            return None
        return dict(decoded.claims)

    async def reload(self, storage: KeyStorage) -> None:
        self.load(await storage.all_keys())

    async def start(self, storage: KeyStorage, secret_key: str, now: datetime) -> None:
        """Load the keys, creating the first ones if the database has none (SPEC §12)."""
        stored = await storage.all_keys()
        self.load(stored)
        if self.has_current(now):
            return
        if not stored:
            first = [new_key(alg, secret_key, now, now) for alg in ALGORITHMS]
            if not await storage.add_first_keys(first):
                log.info("another node created the signing keys")
            self.load(await storage.all_keys())
        if not self.has_current(now):
            log.warning(
                "no current signing key opens under this server's secret key: making new ones"
            )
            await storage.rotate([new_key(alg, secret_key, now, now) for alg in ALGORITHMS])
            self.load(await storage.all_keys())

    async def keep_loaded(self, storage: KeyStorage, secret_key: str, clock: Clock) -> None:
        """Reload every :data:`RELOAD_INTERVAL` seconds until cancelled (and start, if the
        database was out of reach at first)."""
        while True:
            await asyncio.sleep(RELOAD_INTERVAL)
            try:
                if self.has_current(clock()):
                    await self.reload(storage)
                else:
                    await self.start(storage, secret_key, clock())
            except Exception as exc:  # a database hiccup: keep the keys we have, try again
                # One line, as for every request during an outage: no traceback (SPEC §9).
                log.warning("could not reload the signing keys: %s", type(exc).__name__)


async def rotate(
    storage: KeyStorage,
    secret_key: str,
    now: datetime,
    delay: timedelta = ACTIVATION_DELAY,
) -> list[StoredKey]:
    """New keys for every algorithm, published now and signing from ``now + delay``."""
    keys = [new_key(alg, secret_key, now, now + delay) for alg in ALGORITHMS]
    await storage.rotate(keys)
    return keys


@contextlib.asynccontextmanager
async def kept_loaded(
    ring: KeyRing, storage: KeyStorage, secret_key: str, clock: Clock
) -> AsyncIterator[KeyRing]:
    """Start ``ring`` and reload it in the background for as long as the block runs.

    A database out of reach does not stop the server from starting (it answers 503 until
    the database is back, SPEC §9).
    """
    try:
        await ring.start(storage, secret_key, clock())
    except Exception as exc:
        log.warning(
            "could not load the signing keys (%s); retrying in the background",
            type(exc).__name__,
        )
    task = asyncio.create_task(ring.keep_loaded(storage, secret_key, clock))
    try:
        yield ring
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
