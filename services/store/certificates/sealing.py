"""Private keys encrypted at rest: Fernet (AES-128-CBC + HMAC-SHA256, from `cryptography`)
under a key from the settings (CERT_KEY_ENCRYPTION_KEYS; in Kubernetes a Secret's value). The
first key encrypts; every key listed decrypts, so a key is rotated by putting the new one first
and re-sealing, then dropping the old one. The database never sees a key in the clear, and
neither do logs: a sealed key's repr says nothing, and errors name no key material."""

from __future__ import annotations

from collections.abc import Sequence

from cryptography.fernet import Fernet, InvalidToken, MultiFernet


class KeySealError(Exception):
    """A sealed key that none of the configured keys opens (wrong or rotated-away key)."""


class KeySealer:
    def __init__(self, keys: Sequence[str | bytes]) -> None:
        if not keys:
            raise ValueError(
                "CERT_KEY_ENCRYPTION_KEYS is empty: set at least one Fernet key"
                " (make one with `python -c 'from cryptography.fernet import Fernet;"
                " print(Fernet.generate_key().decode())'`)"
            )
        try:
            self._fernet = MultiFernet([Fernet(k) for k in keys])
        except ValueError:
            # Fernet's message is generic; never echo the value itself.
            raise ValueError(
                "CERT_KEY_ENCRYPTION_KEYS: each key must be 32 url-safe base64-encoded bytes"
            ) from None

    @classmethod
    def from_setting(cls, value: str) -> KeySealer:
        return cls([k.strip() for k in value.split(",") if k.strip()])

    def seal(self, key_pem: bytes) -> bytes:
        return self._fernet.encrypt(key_pem)

    def open(self, sealed: bytes) -> bytes:
        try:
            return self._fernet.decrypt(sealed)
        except InvalidToken:
            raise KeySealError(
                "a stored private key could not be decrypted with any configured"
                " CERT_KEY_ENCRYPTION_KEYS key"
            ) from None

    def __repr__(self) -> str:
        return "KeySealer(<keys hidden>)"
