"""The ACME client (services/store/certificates/acme.py) against a recorded RFC 8555 exchange:
directory → nonce → newAccount → newOrder → authorization → http-01 challenge → finalize →
certificate. The CA side is an httpx.MockTransport that answers with the bodies of the RFC's
own examples (§7.1.1 to 7.1.4, §7.4, §7.5) and checks what a CA checks: every JWS signature
against the account's key, each nonce used once, the protected `url`, jwk only on newAccount
and kid after, POST-as-GET empty payloads, the published key authorization before validation,
and a CSR for the ordered name. What this does not test: a real CA (Let's Encrypt staging), its rate
limits, or the edge serving the challenge over HTTP."""

from __future__ import annotations

import asyncio
import base64
import json
import secrets
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature
from cryptography.x509.oid import NameOID

from services.common import pki
from services.store.certificates.acme import (
    AcmeError,
    AcmeIssuer,
    AcmeSettings,
    key_authorization,
    thumbprint,
)

BASE = "https://ca.test/acme"
DOMAIN = "shop.example.com"
TOKEN = "DGyRejmCefe7v4NfDGDKfA"  # RFC 8555 §8.3's example token

# What the CA answered, as recorded (the RFC's example bodies, with this test's URLs).
DIRECTORY = {
    "newNonce": f"{BASE}/new-nonce",
    "newAccount": f"{BASE}/new-account",
    "newOrder": f"{BASE}/new-order",
    "revokeCert": f"{BASE}/revoke-cert",
    "keyChange": f"{BASE}/key-change",
    "meta": {"termsOfService": "https://ca.test/acme/terms/2017-5-30"},
}
ACCOUNT = {
    "status": "valid",
    "contact": ["mailto:ops@example.com"],
    "orders": f"{BASE}/acct/1/orders",
}
ORDER_PENDING = {
    "status": "pending",
    "expires": "2026-01-08T00:00:00Z",
    "identifiers": [{"type": "dns", "value": DOMAIN}],
    "authorizations": [f"{BASE}/authz/PAniVnsZcis"],
    "finalize": f"{BASE}/order/TOlocE8rfgo/finalize",
}
AUTHZ_PENDING = {
    "status": "pending",
    "expires": "2026-01-08T00:00:00Z",
    "identifier": {"type": "dns", "value": DOMAIN},
    "challenges": [
        {
            "type": "dns-01",
            "url": f"{BASE}/chall/Rg5dV14Gh1Q",
            "status": "pending",
            "token": "DGyRejmCefe7v4NfDGDKfB",
        },
        {
            "type": "http-01",
            "url": f"{BASE}/chall/prV_B7yEyA4",
            "status": "pending",
            "token": TOKEN,
        },
    ],
}


def _b64decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class RecordedCa:
    """Replays the recorded answers, checking each request as a CA would."""

    def __init__(
        self,
        challenges: Challenges,
        *,
        authz_polls: int = 1,
        fail: str = "",
        domain: str = DOMAIN,
        store_id: int = 7,
    ) -> None:
        self.challenges = challenges
        self.domain = domain
        self.store_id = store_id
        self.authz_polls = authz_polls
        self.fail = fail
        self.nonces: set[str] = set()
        self.account_key: ec.EllipticCurvePublicKey | None = None
        self.jwk_thumbprint = ""
        self.seen: list[str] = []
        self.ca = pki.make_ca("recorded ACME CA")
        identifier = {"type": "dns", "value": domain}
        self.order = {**ORDER_PENDING, "identifiers": [identifier]}
        self.authz = {**json.loads(json.dumps(AUTHZ_PENDING)), "identifier": identifier}
        self.stale_nonce_once = False
        self.order_next: dict[str, Any] | None = None
        self.csr_key: Any = None

    def _nonce(self) -> str:
        nonce = secrets.token_urlsafe(16)
        self.nonces.add(nonce)
        return nonce

    def _verify(self, request: httpx.Request) -> tuple[dict[str, Any], Any]:
        assert request.headers["content-type"] == "application/jose+json"
        jws = json.loads(request.content)
        protected = json.loads(_b64decode(jws["protected"]))
        assert protected["alg"] == "ES256"
        assert protected["url"] == str(request.url), "protected url must be the request's"
        assert protected["nonce"] in self.nonces, "unknown or reused nonce"
        self.nonces.discard(protected["nonce"])
        if str(request.url) == DIRECTORY["newAccount"]:
            assert "jwk" in protected and "kid" not in protected
            jwk = protected["jwk"]
            self.account_key = ec.EllipticCurvePublicNumbers(
                int.from_bytes(_b64decode(jwk["x"]), "big"),
                int.from_bytes(_b64decode(jwk["y"]), "big"),
                ec.SECP256R1(),
            ).public_key()
        else:
            assert "jwk" not in protected and protected["kid"] == f"{BASE}/acct/1"
        assert self.account_key is not None
        raw = _b64decode(jws["signature"])
        der = encode_dss_signature(int.from_bytes(raw[:32], "big"), int.from_bytes(raw[32:], "big"))
        self.account_key.verify(
            der, f"{jws['protected']}.{jws['payload']}".encode(), ec.ECDSA(hashes.SHA256())
        )
        payload = json.loads(_b64decode(jws["payload"])) if jws["payload"] else None
        return protected, payload

    def __call__(self, request: httpx.Request) -> httpx.Response:
        url = str(request.url)
        self.seen.append(f"{request.method} {url.removeprefix(BASE)}")
        nonce = {"Replay-Nonce": self._nonce()}
        if request.method == "GET" and url == f"{BASE}/directory":
            return httpx.Response(200, json=DIRECTORY)
        if request.method == "HEAD" and url == DIRECTORY["newNonce"]:
            return httpx.Response(200, headers=nonce)
        assert request.method == "POST", url
        if self.stale_nonce_once and url == DIRECTORY["newOrder"]:
            self.stale_nonce_once = False
            json.loads(request.content)
            return httpx.Response(
                400,
                headers=nonce,
                json={
                    "type": "urn:ietf:params:acme:error:badNonce",
                    "detail": "JWS has an invalid anti-replay nonce",
                },
            )
        _, payload = self._verify(request)
        if url == DIRECTORY["newAccount"]:
            assert payload == {"termsOfServiceAgreed": True, "contact": ["mailto:ops@example.com"]}
            return httpx.Response(
                201, headers={**nonce, "Location": f"{BASE}/acct/1"}, json=ACCOUNT
            )
        if url == DIRECTORY["newOrder"]:
            assert payload == {"identifiers": [{"type": "dns", "value": self.domain}]}
            return httpx.Response(
                201, headers={**nonce, "Location": f"{BASE}/order/TOlocE8rfgo"}, json=self.order
            )
        if url == ORDER_PENDING["authorizations"][0]:
            assert payload is None, "POST-as-GET has an empty payload"
            if self.authz["status"] == "processing":
                self.authz_polls -= 1
                if self.authz_polls <= 0:
                    self.authz["status"] = "invalid" if self.fail == "authz" else "valid"
                    if self.fail == "authz":
                        self.authz["challenges"][1]["error"] = {
                            "type": "urn:ietf:params:acme:error:unauthorized",
                            "detail": "Invalid response from"
                            " http://shop.example.com/.well-known/acme-challenge/x: 404",
                        }
                    else:
                        self.order["status"] = "ready"
            return httpx.Response(200, headers={**nonce, "Retry-After": "0"}, json=self.authz)
        if url == f"{BASE}/chall/prV_B7yEyA4":
            assert payload == {}
            # The CA fetches http://<domain>/.well-known/acme-challenge/<token> now: the
            # client must have published the key authorization already.
            published = self.challenges.answers[(self.store_id, self.domain, TOKEN)]
            assert published == f"{TOKEN}.{self.jwk_thumbprint}"
            self.authz["status"] = "processing"
            return httpx.Response(
                200, headers=nonce, json={**self.authz["challenges"][1], "status": "processing"}
            )
        if url == f"{BASE}/order/TOlocE8rfgo":
            assert payload is None
            if self.order_next is not None:  # finalized: valid on the next poll
                self.order = self.order_next
            return httpx.Response(200, headers={**nonce, "Retry-After": "0"}, json=self.order)
        if url == ORDER_PENDING["finalize"]:
            csr = x509.load_der_x509_csr(_b64decode(payload["csr"]))
            assert csr.is_signature_valid
            names = csr.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
            assert names.get_values_for_type(x509.DNSName) == [self.domain]
            self.csr_key = csr.public_key()
            self.order = {**self.order, "status": "processing"}
            self.order_next = {
                **self.order,
                "status": "valid",
                "certificate": f"{BASE}/cert/mAt3xBGaobw",
            }
            return httpx.Response(200, headers=nonce, json=self.order)
        if url == f"{BASE}/cert/mAt3xBGaobw":
            assert payload is None
            assert request.headers["accept"] == "application/pem-certificate-chain"
            return httpx.Response(200, headers=nonce, content=self._sign())
        raise AssertionError(f"unexpected {request.method} {url}")

    def _sign(self) -> bytes:
        # The CA certifies the key of the CSR (the client's), for 90 days.
        now = datetime.now(UTC)
        leaf = (
            x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, self.domain)]))
            .issuer_name(self.ca.certificate.subject)
            .public_key(self.csr_key)
            .serial_number(x509.random_serial_number())
            .not_valid_before(now)
            .not_valid_after(now + timedelta(days=90))
            .add_extension(x509.SubjectAlternativeName([x509.DNSName(self.domain)]), critical=False)
            .sign(self.ca.key, hashes.SHA256())
        )
        return leaf.public_bytes(serialization.Encoding.PEM) + self.ca.cert_pem


class Challenges:
    def __init__(self) -> None:
        self.answers: dict[tuple[int, str, str], str] = {}

    async def put_challenge(self, store_id, domain, token, key_authorization):
        self.answers[(store_id, domain, token)] = key_authorization


async def issue_with(ca: RecordedCa, key: ec.EllipticCurvePrivateKey, challenges=None):
    """Runs AcmeIssuer against the recorded CA; `challenges` (default: the CA's own record)
    is where the client publishes key authorizations."""
    ca.jwk_thumbprint = thumbprint(key)
    async with httpx.AsyncClient(transport=httpx.MockTransport(ca)) as client:
        issuer = AcmeIssuer(
            AcmeSettings(f"{BASE}/directory", "ops@example.com", poll_interval=0),
            key,
            challenges or ca.challenges,
            client,
            sleep=lambda _s: asyncio.sleep(0),
        )
        return await issuer.issue(ca.store_id, ca.domain)


def _run(ca: RecordedCa, key: ec.EllipticCurvePrivateKey):
    return asyncio.run(issue_with(ca, key))


def test_the_recorded_exchange_yields_a_certificate_for_the_domain_and_its_key():
    key = ec.generate_private_key(ec.SECP256R1())
    ca = RecordedCa(Challenges(), authz_polls=2)
    issued = _run(ca, key)
    leaf, root = x509.load_pem_x509_certificates(issued.chain_pem)
    leaf.verify_directly_issued_by(root)
    assert issued.record.domain == DOMAIN and issued.issuer == "acme"
    mine = serialization.load_pem_private_key(issued.key_pem, password=None)
    assert mine.public_key() == leaf.public_key()
    assert mine.public_key() != key.public_key(), "the domain's key is not the account key"
    assert ca.seen == [
        "GET /directory",
        "HEAD /new-nonce",
        "POST /new-account",
        "POST /new-order",
        "POST /authz/PAniVnsZcis",
        "POST /chall/prV_B7yEyA4",
        "POST /authz/PAniVnsZcis",
        "POST /authz/PAniVnsZcis",
        "POST /order/TOlocE8rfgo",
        "POST /order/TOlocE8rfgo/finalize",
        "POST /order/TOlocE8rfgo",
        "POST /cert/mAt3xBGaobw",
    ]


def test_the_key_authorization_is_the_token_and_the_rfc_7638_thumbprint():
    # RFC 7638 §3.1's example is RSA; for EC the thumbprint hashes {"crv","kty","x","y"}.
    key = ec.generate_private_key(ec.SECP256R1())
    value = key_authorization(TOKEN, key)
    token, _, print_ = value.partition(".")
    assert token == TOKEN and print_ == thumbprint(key) and len(print_) == 43


def test_a_stale_nonce_is_retried_once_with_a_fresh_one():
    ca = RecordedCa(Challenges())
    ca.stale_nonce_once = True
    issued = _run(ca, ec.generate_private_key(ec.SECP256R1()))
    assert issued.record.domain == DOMAIN
    assert ca.seen.count("POST /new-order") == 2


def test_a_failed_validation_names_the_cas_reason():
    ca = RecordedCa(Challenges(), fail="authz")
    with pytest.raises(AcmeError, match=r"invalid: urn:ietf:params:acme:error:unauthorized.*404"):
        _run(ca, ec.generate_private_key(ec.SECP256R1()))
