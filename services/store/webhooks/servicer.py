"""gRPC entrypoint of the webhook admin API."""

from __future__ import annotations

from shop.store.v1 import webhooks_pb2 as pb
from shop.store.v1 import webhooks_pb2_grpc

from services.common import cursor
from services.common.messages import to_timestamp
from services.store.webhooks.repository import DeliveryRow, WebhookRepository, WebhookRow

MAX_PAGE_SIZE = 100


def _webhook(row: WebhookRow) -> pb.Webhook:
    return pb.Webhook(
        id=str(row.id),
        topic=row.topic,
        url=row.url,
        created_at=to_timestamp(row.created_at),
        # None (no rotation in overlap) leaves the field unset.
        previous_secret_expires_at=to_timestamp(row.previous_secret_expires_at),
    )


def _delivery(row: DeliveryRow) -> pb.WebhookDelivery:
    return pb.WebhookDelivery(
        id=str(row.id),
        webhook_id=str(row.webhook_id),
        event_id=row.event_key,
        topic=row.topic,
        status=row.status,
        attempts=row.attempts,
        next_attempt_at=to_timestamp(row.next_attempt_at),
        created_at=to_timestamp(row.created_at),
        attempt_log=[
            pb.DeliveryAttempt(
                attempt=a.attempt,
                started_at=to_timestamp(a.started_at),
                duration_ms=a.duration_ms,
                response_code=a.response_code or 0,
                error=a.error or "",
            )
            for a in row.attempt_log
        ],
    )


class WebhookAdminServicer(webhooks_pb2_grpc.WebhookAdminServicer):
    def __init__(self, webhooks: WebhookRepository) -> None:
        self._webhooks = webhooks

    async def CreateWebhook(self, request, context):
        row, secret = await self._webhooks.create(request.topic.strip(), request.url)
        return pb.CreateWebhookResponse(webhook=_webhook(row), secret=secret)

    async def ListWebhooks(self, request, context):
        rows, token = await self._webhooks.list(
            cursor.page_size(request.page_size), request.page_token
        )
        return pb.ListWebhooksResponse(webhooks=[_webhook(r) for r in rows], next_page_token=token)

    async def RotateWebhookSecret(self, request, context):
        overlap = request.overlap_seconds if request.HasField("overlap_seconds") else None
        row, secret = await self._webhooks.rotate_secret(request.id, overlap)
        return pb.RotateWebhookSecretResponse(webhook=_webhook(row), secret=secret)

    async def DeleteWebhook(self, request, context):
        cancelled = await self._webhooks.delete(request.id)
        return pb.DeleteWebhookResponse(cancelled_deliveries=cancelled)

    async def ListDeliveries(self, request, context):
        size = cursor.page_size(request.page_size, 20, MAX_PAGE_SIZE)
        rows, token = await self._webhooks.deliveries(request.webhook_id, size, request.page_token)
        return pb.ListDeliveriesResponse(
            deliveries=[_delivery(r) for r in rows], next_page_token=token
        )

    async def Redeliver(self, request, context):
        return _delivery(await self._webhooks.redeliver(request.id))
