"""Every Prometheus metric of the bot, in one registry the application owns (tests never share counters).

Counted where the events already happen, through this one object: provider calls (``instrumented.py`` wraps
each client), Telegram calls (``telegram_contact.py``), alerts (the admin notifier) and the webhook. Labels are
provider names, endpoint and Bot API method names only: never a number, a text or a secret.
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST

CONTENT_TYPE = CONTENT_TYPE_LATEST

# Provider calls take from tens of milliseconds to the 30 s timeout (and its retries).
_LATENCY_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        r = self.registry
        self.sms_sent = Counter("smsrelay_sms_sent", "Recipients a provider accepted.", ["provider"], registry=r)
        self.sms_failed = Counter("smsrelay_sms_failed", "Recipients a provider refused.", ["provider"], registry=r)
        self.sms_unknown = Counter(
            "smsrelay_sms_unknown", "Recipients whose outcome is unknown (never resent).", ["provider"], registry=r
        )
        self.provider_latency = Histogram(
            "smsrelay_provider_request_seconds",
            "Time of one provider call (retries included), by provider and endpoint.",
            ["provider", "endpoint"],
            buckets=_LATENCY_BUCKETS,
            registry=r,
        )
        self.balance = Gauge("smsrelay_provider_balance", "Credit left, as last reported.", ["provider"], registry=r)
        self.bulk_pending = Gauge(
            "smsrelay_bulk_recipients_pending", "Recipients of unfinished bulk jobs not sent yet.", registry=r
        )
        self.telegram_errors = Counter(
            "smsrelay_telegram_api_errors", "Bot API calls that failed, by method.", ["method"], registry=r
        )
        self.alerts_sent = Counter("smsrelay_alerts_sent", "Alerts delivered to the admin chats.", registry=r)
        self.alerts_received = Counter(
            "smsrelay_alerts_received", "Alerts taken in over HTTP, by source.", ["source"], registry=r
        )
        self.active = Gauge("smsrelay_active", "1 on the active replica, 0 on a standby.", registry=r)
        self.webhook_refused = Counter(
            "smsrelay_webhook_refused", "Webhook requests refused for a missing or wrong secret.", registry=r
        )

    def render(self) -> bytes:
        return generate_latest(self.registry)
