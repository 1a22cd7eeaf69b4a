"""A fake 254sms API on 127.0.0.1 that answers like the spec's samples, for tests and benchmarks.

The sample's ``messageDetails`` (``statusCode: "Successfully Sent"``, ``statusMessage: 2``) is the default
shape. Choices where the spec is silent (the client must not depend on them): X codes come with HTTP 200 as
``{"statusCode": "X001", "statusMessage": …}``; a wrong username is X003, a wrong key X001, a missing field
X000; too little credit is ``statusCode`` 102 "Insufficient balance…"; an unknown sender id is ``statusCode``
103; an invalid number is a detail with ``statusCode: "Invalid Phone Number"``, a gateway failure one with
``statusCode: "Failed"``. Options for shapes the spec does not show: ``pending_numbers`` are sent but their
detail says ``"Pending"`` (code 1); with ``partial_sends`` too little credit sends to the numbers it covers
and answers ``statusCode`` 102 with a detail per number ("Successfully Sent" or "Insufficient balance").

Standalone: ``python -m tests.fakes.sms254_server --port 0 --latency 0.05 --credits 1000000 --ledger PATH``
prints ``PORT <n>`` and serves until killed.
"""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Any, Literal

from tests.fakes.provider_base import (
    COMMON_FAULTS,
    FakeProviderServer,
    Reply,
    json_number,
    segments,
    serve_until_killed,
    standalone_arguments,
)
from tests.fakes.texin_server import normalise

USERNAME = "fake254user"
API_KEY = "test-254sms-key-9876543210"
SEND_PATH = "/version1/sendsms"
CREDITS_PATH = "/version1/credits"

X_MESSAGES = {
    "X000": "Some parameters are missing",
    "X001": "Unknown or unvalid secret_key",
    "X002": "Unvalid secret_key for this domain",
    "X003": "Unknown or unvalid user token",
}
_ERROR_FAULTS = {
    **{code.lower(): Reply(200, {"statusCode": code, "statusMessage": text}) for code, text in X_MESSAGES.items()},
    "auth": Reply(200, {"statusCode": "X001", "statusMessage": X_MESSAGES["X001"]}),
    "bad_request": Reply(200, {"statusCode": "X000", "statusMessage": X_MESSAGES["X000"]}),
    "http500": Reply(500, {"statusCode": 500, "statusMessage": "Internal Server Error"}),
    "forbidden": Reply(403, {"statusCode": 403, "statusMessage": "Forbidden"}),
    "not_found": Reply(404, {"statusCode": 404, "statusMessage": "Not Found"}),
    "method_not_allowed": Reply(405, {"statusCode": 405, "statusMessage": "Method Not Allowed"}),
    "success_false": Reply(200, {"statusCode": 100, "statusMessage": "Message sending failed"}),
    "insufficient": Reply(200, {"statusCode": 102, "statusMessage": "Insufficient balance, please top up"}),
}

DetailStyle = Literal["spec", "unswapped", "absent"]
Outcome = Literal["sent", "invalid", "failed", "pending", "no_credit"]
_DETAIL_WORDS: dict[Outcome, str] = {
    "sent": "Successfully Sent",
    "invalid": "Invalid Phone Number",
    "failed": "Failed",
    "pending": "Pending",
    "no_credit": "Insufficient balance",
}


class Sms254FakeServer(FakeProviderServer):
    faults = COMMON_FAULTS | frozenset(_ERROR_FAULTS) | {"echo_key"}

    def __init__(
        self,
        *,
        username: str = USERNAME,
        api_key: str = API_KEY,
        credits: Decimal = Decimal(1000),
        sender_ids: frozenset[str] = frozenset({"254sms"}),
        invalid_numbers: set[str] | None = None,
        failing_numbers: set[str] | None = None,
        unmentioned_numbers: set[str] | None = None,
        pending_numbers: set[str] | None = None,
        partial_sends: bool = False,
        details_style: DetailStyle = "spec",
        string_numbers: bool = False,
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
        self.username = username
        self.api_key = api_key
        self.credits = credits
        self.sender_ids = set(sender_ids)
        self.invalid_numbers = invalid_numbers or set()
        self.failing_numbers = failing_numbers or set()
        self.unmentioned_numbers = unmentioned_numbers or set()  # sent, but left out of messageDetails
        self.pending_numbers = pending_numbers or set()  # sent, but their detail says "Pending"
        self.partial_sends = partial_sends  # too little credit: send what it covers, refuse the rest
        self.details_style = details_style
        self.string_numbers = string_numbers  # the spec's table calls every field a String

    @property
    def send_url(self) -> str:
        return self.url(SEND_PATH)

    @property
    def credits_url(self) -> str:
        return self.url(CREDITS_PATH)

    def ledger_extra(self) -> dict[str, Any]:
        return {"credits": str(self.credits)}

    # -- answers ------------------------------------------------------------------------------------------

    def fault_reply(self, kind: str, path: str, body: Any) -> Reply:
        if kind == "echo_key":
            given = body if isinstance(body, dict) else {}
            text = f"Unknown or unvalid secret_key {given.get('api_key')} for user {given.get('username')}"
            return Reply(200, {"statusCode": "X001", "statusMessage": text})
        return _ERROR_FAULTS[kind]

    def route(self, path: str, body: Any) -> Reply:
        if path not in (SEND_PATH, CREDITS_PATH):
            return _ERROR_FAULTS["not_found"]
        if not isinstance(body, dict) or not body.get("username") or not body.get("api_key"):
            return _ERROR_FAULTS["x000"]
        if body["username"] != self.username:
            return _ERROR_FAULTS["x003"]
        if body["api_key"] != self.api_key:
            return _ERROR_FAULTS["x001"]
        if path == CREDITS_PATH:
            return Reply(200, {"credits": str(json_number(self.credits)), "statusCode": self._number(101)})
        return self._send(body)

    def _number(self, value: int | float) -> int | float | str:
        return str(value) if self.string_numbers else value

    def _detail(self, recipient: str, text: str, outcome: Outcome) -> dict[str, Any]:
        words = _DETAIL_WORDS[outcome]
        code = {"sent": 2, "invalid": 0, "failed": 3, "pending": 1, "no_credit": 4}[outcome]
        if self.details_style == "unswapped":
            return {"recipient": recipient, "message": text, "statusCode": code, "statusMessage": words}
        # As published: the words in statusCode, the number in statusMessage.
        return {"recipient": recipient, "message": text, "statusCode": words, "statusMessage": code}

    def _send(self, body: dict[str, Any]) -> Reply:
        phone, text = body.get("phone"), body.get("message")
        if not isinstance(phone, str) or not phone.strip() or not text:
            return _ERROR_FAULTS["x000"]
        sender = str(body.get("sender_id") or "254sms")
        if sender not in self.sender_ids:
            return Reply(200, {"statusCode": 103, "statusMessage": f"Invalid sender id {sender}"})
        units = segments(str(text))
        numbers = [part.strip() for part in phone.split(",") if part.strip()]
        sorted_out: list[tuple[str, str | None]] = [(raw, normalise(raw)) for raw in numbers]
        valid = [n for _, n in sorted_out if n is not None and n not in self.invalid_numbers | self.failing_numbers]
        short = units * len(valid) > self.credits
        if short and not self.partial_sends:
            return _ERROR_FAULTS["insufficient"]
        details = []
        for raw, number in sorted_out:
            if number is None or number in self.invalid_numbers:
                details.append(self._detail(raw, str(text), "invalid"))
            elif number in self.failing_numbers:
                details.append(self._detail(number, str(text), "failed"))
            elif units > self.credits:
                details.append(self._detail(number, str(text), "no_credit"))
            else:
                self.credits -= units
                self.accept(number)
                if number not in self.unmentioned_numbers:
                    outcome: Outcome = "pending" if number in self.pending_numbers else "sent"
                    details.append(self._detail(number, str(text), outcome))
        answer: dict[str, Any] = {
            "recipientsCount": self._number(len(numbers)),
            "statusMessage": "Insufficient balance, please top up" if short else "Success",
            "statusCode": self._number(102 if short else 101),
            "Balance": self._number(json_number(self.credits)),
        }
        if self.details_style != "absent":
            answer["messageDetails"] = details
        return Reply(200, answer)


def main(argv: list[str] | None = None) -> None:
    parser = standalone_arguments("A fake 254sms API on 127.0.0.1.")
    parser.add_argument("--username", default=USERNAME, help="the username the fake accepts")
    args = parser.parse_args(argv)
    fake = Sms254FakeServer(
        username=args.username,
        api_key=args.api_key or API_KEY,
        credits=args.credits,
        latency=args.latency,
        ledger_path=args.ledger,
    )
    serve_until_killed(fake, args.port)


if __name__ == "__main__":
    main()
