"""An RFC 8555 (ACME) client for HTTP-01, on httpx and `cryptography`: account, order,
authorization, challenge, finalize, certificate. Small on purpose — one identifier per order,
one challenge type — and written against the RFC rather than certbot's `acme` package, which
runs on `requests` (blocking; this process is asyncio) and would add josepy and pyOpenSSL.

The challenge's key authorization is handed to `ChallengeStore.put` before the CA is told to
validate, so the edge can answer `GET /.well-known/acme-challenge/<token>` on the domain.
Tested against a recorded exchange (tests/unit/test_acme_client.py); never against a real CA."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Protocol

import httpx
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature
from cryptography.x509.oid import NameOID

from services.store.certificates.issuers import IssuedCertificate, record_of

JOSE = "application/jose+json"
PEM_CHAIN = "application/pem-certificate-chain"


class AcmeError(Exception):
    """The CA refused or failed (its problem document's type and detail, never a key)."""


class ChallengeStore(Protocol):
    async def put_challenge(
        self, store_id: int, domain: str, token: str, key_authorization: str
    ) -> None: ...


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _int_bytes(value: int) -> bytes:
    return value.to_bytes(32, "big")


def public_jwk(key: ec.EllipticCurvePrivateKey) -> dict[str, str]:
    numbers = key.public_key().public_numbers()
    # Members in lexicographic order: the RFC 7638 thumbprint hashes exactly this JSON.
    return {
        "crv": "P-256",
        "kty": "EC",
        "x": b64url(_int_bytes(numbers.x)),
        "y": b64url(_int_bytes(numbers.y)),
    }


def thumbprint(key: ec.EllipticCurvePrivateKey) -> str:
    canonical = json.dumps(public_jwk(key), separators=(",", ":"), sort_keys=True)
    return b64url(hashlib.sha256(canonical.encode()).digest())


def key_authorization(token: str, account_key: ec.EllipticCurvePrivateKey) -> str:
    """RFC 8555 §8.1: what the domain serves at /.well-known/acme-challenge/<token>."""
    return f"{token}.{thumbprint(account_key)}"


def load_account_key(pem: bytes) -> ec.EllipticCurvePrivateKey:
    """The account key from its PEM file (ES256 is the one algorithm this client signs with)."""
    key = serialization.load_pem_private_key(pem, password=None)
    if not isinstance(key, ec.EllipticCurvePrivateKey) or key.curve.name != "secp256r1":
        raise ValueError("CERT_ACME_ACCOUNT_KEY_FILE must hold an ECDSA P-256 private key")
    return key


def csr_der(domain: str, key: ec.EllipticCurvePrivateKey) -> bytes:
    csr = (
        x509.CertificateSigningRequestBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, domain)]))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(domain)]), critical=False)
        .sign(key, hashes.SHA256())
    )
    return csr.public_bytes(serialization.Encoding.DER)


@dataclass(frozen=True)
class AcmeSettings:
    directory_url: str
    contact_email: str = ""
    # Polls of an authorization or an order before giving up, and the pause between them when
    # the CA sends no Retry-After.
    max_polls: int = 30
    poll_interval: float = 2.0


class AcmeIssuer:
    name = "acme"

    def __init__(
        self,
        settings: AcmeSettings,
        account_key: ec.EllipticCurvePrivateKey,
        challenges: ChallengeStore,
        client: httpx.AsyncClient,
        *,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self._settings = settings
        self._key = account_key
        self._challenges = challenges
        self._http = client
        self._sleep = sleep
        self._directory: dict[str, Any] | None = None
        self._nonce: str | None = None
        self._kid: str | None = None
        # One account registration and one nonce stream at a time.
        self._lock = asyncio.Lock()

    async def issue(self, store_id: int, domain: str) -> IssuedCertificate:
        order, order_url = await self._new_order(domain)
        for authz_url in order["authorizations"]:
            await self._authorize(store_id, domain, authz_url)
        key = ec.generate_private_key(ec.SECP256R1())
        order = await self._finalize(order, order_url, domain, key)
        response = await self._post(order["certificate"], None, accept=PEM_CHAIN)
        chain = response.content
        leaf = x509.load_pem_x509_certificates(chain)[0]
        names = leaf.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
        if domain not in names.get_values_for_type(x509.DNSName):
            raise AcmeError(f"the CA's certificate does not name {domain}")
        return IssuedCertificate(
            record=record_of(domain, leaf),
            chain_pem=chain,
            key_pem=key.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            ),
            issuer=self.name,
        )

    # The exchange, step by step (RFC 8555 §7).

    async def _directory_urls(self) -> dict[str, Any]:
        if self._directory is None:
            response = await self._http.get(self._settings.directory_url)
            response.raise_for_status()
            self._directory = response.json()
        return self._directory

    async def _new_order(self, domain: str) -> tuple[dict[str, Any], str]:
        urls = await self._directory_urls()
        response = await self._post(
            urls["newOrder"], {"identifiers": [{"type": "dns", "value": domain}]}
        )
        return response.json(), response.headers["Location"]

    async def _authorize(self, store_id: int, domain: str, authz_url: str) -> None:
        authz = (await self._post(authz_url, None)).json()
        if authz["status"] == "valid":
            return  # the account proved this domain recently; the CA reuses it
        http01 = [c for c in authz.get("challenges", ()) if c.get("type") == "http-01"]
        if not http01:
            raise AcmeError(f"the CA offers no http-01 challenge for {domain}")
        challenge = http01[0]
        answer = key_authorization(challenge["token"], self._key)
        # Stored before the CA is told to look, so its first fetch finds it.
        await self._challenges.put_challenge(store_id, domain, challenge["token"], answer)
        await self._post(challenge["url"], {})
        await self._poll(authz_url, {"valid"}, f"authorization of {domain}")

    async def _finalize(
        self, order: dict[str, Any], order_url: str, domain: str, key: ec.EllipticCurvePrivateKey
    ) -> dict[str, Any]:
        if order["status"] not in ("ready", "pending"):
            raise AcmeError(f"order for {domain} is {order['status']}")
        order = await self._poll(order_url, {"ready", "valid"}, f"order for {domain}")
        if order["status"] == "ready":
            await self._post(order["finalize"], {"csr": b64url(csr_der(domain, key))})
            order = await self._poll(order_url, {"valid"}, f"order for {domain}")
        return order

    async def _poll(self, url: str, done: set[str], what: str) -> dict[str, Any]:
        for _ in range(self._settings.max_polls):
            response = await self._post(url, None)
            body: dict[str, Any] = response.json()
            if body["status"] in done:
                return body
            if body["status"] == "invalid":
                raise AcmeError(f"{what} is invalid: {_problem_of(body)}")
            await self._sleep(_retry_after(response, self._settings.poll_interval))
        raise AcmeError(f"{what} still {body['status']} after {self._settings.max_polls} polls")

    # JWS over POST (RFC 8555 §6.2), with the nonce each response hands back.

    async def _post(
        self,
        url: str,
        payload: dict[str, Any] | None,
        *,
        accept: str = "application/json",
    ) -> httpx.Response:
        async with self._lock:
            kid = await self._account_locked()
            for attempt in range(2):
                body = self._signed(url, payload, await self._next_nonce(), kid)
                response = await self._http.post(
                    url, content=body, headers={"Content-Type": JOSE, "Accept": accept}
                )
                self._nonce = response.headers.get("Replay-Nonce")
                if response.status_code < 400:
                    return response
                problem = _problem(response)
                # A stale nonce is the one error the RFC says to retry (§6.5).
                if problem.get("type") != "urn:ietf:params:acme:error:badNonce" or attempt:
                    raise AcmeError(
                        f"{url}: {response.status_code} {problem.get('type', '')}"
                        f" {problem.get('detail', '')}".strip()
                    )
        raise AssertionError("unreachable")

    async def _account_locked(self) -> str:
        """The account's URL (its "kid"), registered on first use: newAccount is the one
        request signed with the public key itself (jwk) rather than the kid (§7.3)."""
        if self._kid is None:
            payload: dict[str, Any] = {"termsOfServiceAgreed": True}
            if self._settings.contact_email:
                payload["contact"] = [f"mailto:{self._settings.contact_email}"]
            urls = await self._directory_urls()
            body = self._signed(urls["newAccount"], payload, await self._next_nonce(), None)
            response = await self._http.post(
                urls["newAccount"], content=body, headers={"Content-Type": JOSE}
            )
            self._nonce = response.headers.get("Replay-Nonce")
            if response.status_code >= 400:
                problem = _problem(response)
                raise AcmeError(f"account: {response.status_code} {problem.get('detail', '')}")
            self._kid = response.headers["Location"]
        return self._kid

    async def _next_nonce(self) -> str:
        if self._nonce is None:
            urls = await self._directory_urls()
            response = await self._http.head(urls["newNonce"])
            self._nonce = response.headers["Replay-Nonce"]
        nonce, self._nonce = self._nonce, None
        return nonce

    def _signed(
        self, url: str, payload: dict[str, Any] | None, nonce: str, kid: str | None
    ) -> bytes:
        protected: dict[str, Any] = {"alg": "ES256", "nonce": nonce, "url": url}
        if kid is None:
            protected["jwk"] = public_jwk(self._key)
        else:
            protected["kid"] = kid
        header = b64url(json.dumps(protected).encode())
        # POST-as-GET (§6.3) signs an empty payload.
        body = "" if payload is None else b64url(json.dumps(payload).encode())
        der = self._key.sign(f"{header}.{body}".encode(), ec.ECDSA(hashes.SHA256()))
        r, s = decode_dss_signature(der)
        signature = b64url(_int_bytes(r) + _int_bytes(s))
        return json.dumps({"protected": header, "payload": body, "signature": signature}).encode()


def _problem(response: httpx.Response) -> dict[str, Any]:
    try:
        body = response.json()
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}


def _problem_of(body: dict[str, Any]) -> str:
    for challenge in body.get("challenges", ()):
        if "error" in challenge:
            error = challenge["error"]
            return f"{error.get('type', '')} {error.get('detail', '')}".strip()
    return str(body.get("error", {}).get("detail", "no detail"))


def _retry_after(response: httpx.Response, default: float) -> float:
    try:
        return max(0.0, float(response.headers.get("Retry-After", default)))
    except ValueError:
        return default
