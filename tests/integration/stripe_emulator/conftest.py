"""What every emulator test module starts from: one emulator per module, the official SDK
pointed at it, its control API and a webhook sink. A module that needs the emulator started
with other flags (search lag, webhook endpoints) overrides `emulator` alone."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import stripe

from devstack.stripe_emulator.process import start_emulator
from tests.support.stripe_emulator import Control, WebhookSink, sdk_client


@pytest.fixture(scope="module")
def sink() -> Iterator[WebhookSink]:
    receiver = WebhookSink()
    yield receiver
    receiver.stop()


@pytest.fixture(scope="module")
def emulator():
    with start_emulator() as running:
        yield running


@pytest.fixture(scope="module")
def client(emulator) -> stripe.StripeClient:
    return sdk_client(emulator.url)


@pytest.fixture(scope="module")
def control(emulator) -> Iterator[Control]:
    ctl = Control(emulator.url)
    yield ctl
    ctl.close()
