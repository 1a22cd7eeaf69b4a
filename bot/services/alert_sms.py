"""Alert SMS (an alert's own, an escalation step's): the normal sending path as the bot itself (failing over as
PROVIDER_FAILOVER allows for alerts), never a chat's quota, each number under its own request key so a repeated
notification or a restart never texts anyone twice."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass, field

from bot.formatting import truncate
from bot.phone import InvalidPhoneNumberError
from bot.services.errors import UserInputError
from bot.services.failover import SendPurpose
from bot.services.requests import DuplicateRequest
from bot.services.sending import SendingService
from bot.sms_text import MessageTextError, cut_to_parts
from storage import MessageStatus, Role

log = logging.getLogger(__name__)

SMS_PARTS = 2  # an alert SMS is a pointer, the details are in Telegram


@dataclass(slots=True)
class AlertTexts:
    numbers: int = 0
    sent: int = 0
    missed: list[str] = field(default_factory=list)  # why some numbers got no SMS, one line each
    reached: list[str] = field(default_factory=list)  # sent now, or maybe (unknown outcome)
    repeated: list[str] = field(default_factory=list)  # handled before under the same key: not sent again


def alert_text(status: str, name: str, instance: str | None, summary: str | None) -> str:
    """``[FIRING] name - instance - summary``, cut to two parts as the reader's phone counts them."""
    parts = [f"[{status.upper()}] {name}"]
    if instance:
        parts.append(instance)
    if summary:
        parts.append(summary)
    return cut_to_parts(truncate(" - ".join(parts), 1000), SMS_PARTS)


async def text_numbers(
    sending: SendingService, numbers: Iterable[str], text: str, *, chat_id: int, key: str
) -> AlertTexts:
    """Send ``text`` to each number under the request key ``<key>:<number>``; one that fails costs only itself."""
    result = AlertTexts()
    for number in dict.fromkeys(numbers):
        result.numbers += 1
        try:
            request = sending.prepare(chat_id=chat_id, user_id=None, number=number, text=text, caller_role=Role.ADMIN)
            report = await sending.send(
                request, request_key=f"{key}:{request.recipient}", count_quota=False, purpose=SendPurpose.ALERT
            )
        except DuplicateRequest:
            result.repeated.append(request.recipient)
            continue  # sent before (a repeated notification, a step redone after a restart)
        except (UserInputError, InvalidPhoneNumberError, MessageTextError) as exc:  # not a mobile, blocked, …
            log.warning("alert SMS: no SMS to one recipient: %s", exc)
            result.missed.append(str(exc))
            continue
        if report.status is not MessageStatus.FAILED:
            result.reached.append(request.recipient)
        if report.status is MessageStatus.SENT:
            result.sent += 1
        else:  # failed or unknown at the provider: recorded as usual, and said
            result.missed.append(f"{report.status.value}: {report.error or 'see /status ' + str(report.message_id)}")
    return result
