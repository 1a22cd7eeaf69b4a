"""A fake Texin API on 127.0.0.1 that answers with the spec's exact JSON, for tests and benchmarks.

Choices where the spec is silent (the client must not depend on them): a wrong sender id is answered with
HTTP 200 and the spec's ``success: false`` body; too little balance with HTTP 400 and "Insufficient SMS
balance…"; an invalid number on ``send_sms`` with HTTP 400; a gateway failure on ``send_sms`` with HTTP 500.
A bulk send answers ``success: true`` with the numbers sorted into ``message_ids``, ``invalid_numbers`` and
``failed_recipients``. Options for shapes seen outside the spec: ``details_only`` leaves ``message_id``,
``units_used``, ``cost`` and ``new_balance`` out of a single send's answer (they stay in ``details``);
``ids_style="list"`` gives ``message_ids`` as a bare list of ids in the order sent.

Standalone: ``python -m tests.fakes.texin_server --port 0 --latency 0.05 --credits 1000000 --ledger PATH``
prints ``PORT <n>`` and serves until killed.
"""

from __future__ import annotations

import itertools
import re
import time
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any, Literal

from tests.fakes.provider_base import (
    COMMON_FAULTS,
    FakeProviderServer,
    Reply,
    apply_standalone_arguments,
    json_number,
    segments,
    serve_until_killed,
    standalone_arguments,
)

API_KEY = "test-texin-key-0123456789"
INVALID_SENDER_ERROR = "API Error: Given SenderId is invalid. Please use valid SenderId."
_ERROR_FAULTS = {
    "http500": Reply(500, {"success": False, "error": "Internal server error"}),
    "success_false": Reply(
        200,
        {"success": False, "message": "Failed to send SMS", "error": "Message rejected by the SMS gateway"},
    ),
    "auth": Reply(401, {"success": False, "error": "Invalid API key"}),
    "forbidden": Reply(403, {"success": False, "error": "Account is inactive"}),
    "not_found": Reply(404, {"success": False, "error": "Endpoint not found"}),
    "bad_request": Reply(400, {"success": False, "error": "Missing required fields"}),
    "method_not_allowed": Reply(405, {"success": False, "error": "Method not allowed"}),
    "insufficient": Reply(
        400,
        {
            "success": False,
            "message": "Failed to send SMS",
            "error": "Insufficient SMS balance. Required: 1 units, available: 0",
        },
    ),
}


def normalise(number: object) -> str | None:
    """Texin's own reading of a number: ``07…``/``01…`` become ``254…``; anything else is invalid.

    The spec lists only ``2547XXXXXXXX`` and ``07XXXXXXXX``; it is silent on ``2541…``/``01…``. The fake takes
    them anyway because Kenya's 010x/011x mobile ranges are real numbers our own validation accepts, and a
    fake that refused them would hide how the client reads such answers. The client must not rely on it.
    """
    digits = str(number).strip().removeprefix("+")
    if re.fullmatch(r"0[17]\d{8}", digits):
        return "254" + digits[1:]
    if re.fullmatch(r"254[17]\d{8}", digits):
        return digits
    return None


@dataclass
class SentMessage:
    message_id: str
    recipient: str
    sender_id: str
    text: str
    units: int
    cost: Decimal
    created_at: str
    status: str = "sent"
    delivered_at: str | None = None
    error_message: str | None = None


class TexinFakeServer(FakeProviderServer):
    faults = COMMON_FAULTS | frozenset(_ERROR_FAULTS) | {"echo_key", "invalid_sender"}

    def __init__(
        self,
        *,
        api_key: str = API_KEY,
        credits: Decimal = Decimal(1000),
        cost_per_unit: Decimal = Decimal("0.30"),
        sender_ids: frozenset[str] = frozenset({"Texin"}),
        invalid_numbers: set[str] | None = None,
        failing_numbers: set[str] | None = None,
        unmentioned_numbers: set[str] | None = None,
        simulation_mode: bool = False,
        key_style: Literal["254", "07"] = "254",
        invalid_style: Literal["numbers", "objects"] = "numbers",
        failed_style: Literal["object", "list"] = "object",
        ids_style: Literal["object", "list"] = "object",
        details_only: bool = False,
        latency: float = 0.0,
        slow_seconds: float = 0.5,
        hold_seconds: float = 5.0,
        drip_seconds: float = 0.05,
        ledger_path: Path | None = None,
    ) -> None:
        super().__init__(
            latency=latency,
            slow_seconds=slow_seconds,
            hold_seconds=hold_seconds,
            drip_seconds=drip_seconds,
            ledger_path=ledger_path,
        )
        self.api_key = api_key
        self.credits = credits
        self.cost_per_unit = cost_per_unit
        self.sender_ids = set(sender_ids)
        self.invalid_numbers = invalid_numbers or set()  # numbers (254… form) refused as invalid
        self.failing_numbers = failing_numbers or set()  # numbers the gateway fails to send to
        self.unmentioned_numbers = unmentioned_numbers or set()  # sent, but left out of the bulk answer
        self.simulation_mode = simulation_mode
        self.key_style = key_style  # how numbers are written back: 2547… or 07…
        self.invalid_style = invalid_style
        self.failed_style = failed_style
        self.ids_style = ids_style  # message_ids keyed by number, or a bare list of ids
        self.details_only = details_only  # a single send's figures only inside ``details``
        self.messages: dict[str, SentMessage] = {}
        self._ids = itertools.count(1768205981)

    @property
    def base_url(self) -> str:
        return self.url("/api/")

    def set_status(
        self, message_id: str, status: str, delivered_at: str | None = None, error_message: str | None = None
    ) -> None:
        with self.lock:
            message = self.messages[message_id]
            message.status, message.delivered_at, message.error_message = status, delivered_at, error_message

    def ledger_extra(self) -> dict[str, Any]:
        return {"credits": str(self.credits), "messages": len(self.messages)}

    # -- answers ------------------------------------------------------------------------------------------

    def fault_reply(self, kind: str, path: str, body: Any) -> Reply:
        if kind == "echo_key":
            # A careless API that repeats what it was given: the client must never pass this on.
            key = body.get("api_key") if isinstance(body, dict) else None
            return Reply(401, {"success": False, "error": f"Invalid API key '{key}' for this account"})
        if kind == "invalid_sender":
            return self._invalid_sender("TEXIN")
        return _ERROR_FAULTS[kind]

    def route(self, path: str, body: Any) -> Reply:
        handlers = {
            "/api/send_sms": self._send_sms,
            "/api/send_bulk_sms": self._send_bulk_sms,
            "/api/check_status": self._check_status,
            "/api/get_balance": self._get_balance,
        }
        handler = handlers.get(path)
        if handler is None:
            return _ERROR_FAULTS["not_found"]
        if not isinstance(body, dict):
            return Reply(400, {"success": False, "error": "Invalid JSON body"})
        if not body.get("api_key"):
            return Reply(401, {"success": False, "error": "API key is required"})
        if body["api_key"] != self.api_key:
            return _ERROR_FAULTS["auth"]
        return handler(body)

    def _now(self) -> str:
        return time.strftime("%Y-%m-%d %H:%M:%S")

    def _written(self, number: str) -> str:
        return "0" + number[3:] if self.key_style == "07" else number

    def _invalid_sender(self, sender: str) -> Reply:
        body = {
            "success": False,
            "message": "Failed to send SMS",
            "error": INVALID_SENDER_ERROR,
            "sender_id_used": sender,
        }
        return Reply(200, body)

    def _insufficient(self, required: int) -> Reply:
        error = f"Insufficient SMS balance. Required: {required} units, available: {json_number(self.credits)}"
        return Reply(400, {"success": False, "message": "Failed to send SMS", "error": error})

    def _record(self, number: str, sender: str, text: str, units: int) -> SentMessage:
        message = SentMessage(
            message_id=f"API-{next(self._ids)}",
            recipient=number,
            sender_id=sender,
            text=text,
            units=units,
            cost=units * self.cost_per_unit,
            created_at=self._now(),
        )
        self.messages[message.message_id] = message
        self.credits -= units
        self.accept(number)
        return message

    def _send_sms(self, body: dict[str, Any]) -> Reply:
        if not body.get("recipient") or not body.get("message"):
            return Reply(400, {"success": False, "error": "Missing required fields: recipient, message"})
        sender, text = str(body.get("sender_id") or "Texin"), str(body["message"])
        if sender not in self.sender_ids:
            return self._invalid_sender(sender)
        number = normalise(body["recipient"])
        if number is None or number in self.invalid_numbers:
            error = f"Invalid phone number: {body['recipient']}"
            return Reply(400, {"success": False, "message": "Failed to send SMS", "error": error})
        units = segments(text)
        if units > self.credits:
            return self._insufficient(units)
        if number in self.failing_numbers:
            error = "SMS gateway failure: the upstream gateway rejected the message"
            return Reply(500, {"success": False, "message": "Failed to send SMS", "error": error})
        message = self._record(number, sender, text, units)
        cost = json_number(message.cost)
        answer: dict[str, Any] = {
            "success": True,
            "message": "SMS sent successfully!",
            "message_id": message.message_id,
            "recipient": self._written(number),
            "sender_id": sender,
            "units_used": units,
            "message_length": len(text),
            "cost": cost,
            "new_balance": json_number(self.credits),
            "simulation_mode": self.simulation_mode,
            "details": {
                "To": self._written(number),
                "Message ID": message.message_id,
                "Units used": units,
                "Cost": f"KES {message.cost:.2f}",
                "New balance": f"{json_number(self.credits)} credits",
                "Length": f"{len(text)} characters",
            },
        }
        if self.details_only:
            for field in ("message_id", "units_used", "cost", "new_balance"):
                del answer[field]
        return Reply(200, answer)

    def _send_bulk_sms(self, body: dict[str, Any]) -> Reply:
        recipients = body.get("recipients")
        if not isinstance(recipients, list) or not recipients or not body.get("message"):
            return Reply(400, {"success": False, "error": "Missing required fields: recipients, message"})
        sender, text = str(body.get("sender_id") or "Texin"), str(body["message"])
        if sender not in self.sender_ids:
            return self._invalid_sender(sender)
        units = segments(text)
        valid, invalid, failed = [], [], []
        for raw in recipients:
            number = normalise(raw)
            if number is None or number in self.invalid_numbers:
                invalid.append(str(raw))
            elif number in self.failing_numbers:
                failed.append(number)
            else:
                valid.append(number)
        if units * len(valid) > self.credits:
            return self._insufficient(units * len(valid))
        sent = [self._record(number, sender, text, units) for number in valid]
        reason = "Gateway error: message could not be delivered to the network"
        return Reply(
            200,
            {
                "success": True,
                "message": f"Bulk SMS sent: {len(sent)} successful, {len(failed) + len(invalid)} failed",
                "statistics": {
                    "total_attempted": len(recipients),
                    "successful": len(sent),
                    "failed": len(failed),
                    "invalid_numbers": len(invalid),
                },
                "sender_id": sender,
                "units_used": units * len(sent),
                "total_cost": json_number(sum((m.cost for m in sent), Decimal(0))),
                "new_balance": json_number(self.credits),
                "message_ids": (
                    [m.message_id for m in sent if m.recipient not in self.unmentioned_numbers]
                    if self.ids_style == "list"
                    else {
                        self._written(m.recipient): m.message_id
                        for m in sent
                        if m.recipient not in self.unmentioned_numbers
                    }
                ),
                "invalid_numbers": (
                    [{"number": n, "reason": "Invalid phone number format"} for n in invalid]
                    if self.invalid_style == "objects"
                    else invalid
                ),
                "failed_recipients": (
                    [{"recipient": self._written(n), "error": reason} for n in failed]
                    if self.failed_style == "list"
                    else {self._written(n): reason for n in failed}
                ),
                "simulation_mode": self.simulation_mode,
            },
        )

    def _check_status(self, body: dict[str, Any]) -> Reply:
        if not body.get("message_id"):
            return Reply(400, {"success": False, "error": "Missing required field: message_id"})
        message = self.messages.get(str(body["message_id"]))
        if message is None:
            return Reply(404, {"success": False, "error": "Message not found"})
        return Reply(
            200,
            {
                "success": True,
                "message_id": message.message_id,
                "recipient": message.recipient,
                "sender_id": message.sender_id,
                "status": message.status,
                "units_used": message.units,
                "cost": f"{message.cost:.2f}",
                "created_at": message.created_at,
                "sent_at": message.created_at,
                "delivered_at": message.delivered_at,
                "error_message": message.error_message,
                "gateway_response": {
                    "status": "success",
                    "mobile": message.recipient,
                    "invalidMobile": "",
                    "transactionId": str(386817568305333146 + int(message.message_id[4:])),
                    "statusCode": "200",
                    "reason": "success",
                    "msgId": "",
                    "requestTime": message.created_at,
                },
                "message_preview": message.text[:50],
            },
        )

    def _get_balance(self, body: dict[str, Any]) -> Reply:
        return Reply(
            200,
            {
                "success": True,
                "user_id": 12,
                "username": "testuser",
                "email": "test@example.com",
                "sms_balance": json_number(self.credits),
                "default_sender_id": "Texin",
                "sms_cost_per_unit": f"{self.cost_per_unit:.2f}",
                "timestamp": self._now(),
            },
        )


def main(argv: list[str] | None = None) -> None:
    parser = standalone_arguments("A fake Texin SMS API on 127.0.0.1.")
    args = parser.parse_args(argv)
    fake = TexinFakeServer(
        api_key=args.api_key or API_KEY, credits=args.credits, latency=args.latency, ledger_path=args.ledger
    )
    apply_standalone_arguments(fake, args)
    serve_until_killed(fake, args.port)


if __name__ == "__main__":
    main()
