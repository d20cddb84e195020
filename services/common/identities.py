"""Names in the platform's mutual-TLS trust domain: the URI subject alternative names of the
certificates devstack issues (and a Kubernetes Secret holds). Envoy's is the only identity whose
`x-store-id` the services trust; operators and tests get their own."""

from __future__ import annotations

TRUST_DOMAIN = "shop.internal"
EDGE_IDENTITY = f"spiffe://{TRUST_DOMAIN}/edge"
OPERATOR_IDENTITY = f"spiffe://{TRUST_DOMAIN}/operator"


def service_identity(service: str) -> str:
    """A service's own certificate identity, which Envoy checks before sending it anything."""
    return f"spiffe://{TRUST_DOMAIN}/{service}"
