"""/usage [days]: units and cost per local day and per provider (admins: every chat, with a total per chat),
and a small bar chart of units per day when there are enough days with data to make one worth reading."""

from __future__ import annotations

import asyncio
import logging

from telegram import InputFile, Update
from telegram.error import TelegramError

from bot.charts import units_chart
from bot.context import SmsContext
from bot.formatting import join_within_limit, money, plural
from bot.handlers.common import command_args, refusal, reply, sender_ids
from bot.ids import parse_id
from bot.providers.types import ProviderName
from bot.services.errors import UserInputError
from bot.services.usage import DEFAULT_DAYS, MAX_DAYS, Tally, UsageReport

log = logging.getLogger(__name__)

USAGE = f"/usage [days, 1–{MAX_DAYS}]"
# Fewer days with data read better as the table alone.
CHART_MIN_DAYS = 3


async def usage_command(update: Update, context: SmsContext) -> None:
    """The usage table, then the chart (a photo) when at least three days have data."""
    message = update.effective_message
    if message is None:
        return
    chat_id, _ = sender_ids(update)
    words = command_args(message).split()
    try:
        days = DEFAULT_DAYS if not words else parse_id(words[0])
        if days is None or len(words) > 1:
            raise UserInputError(f"Give a number of days from 1 to {MAX_DAYS}.")
        report = await context.services.usage.report(chat_id=chat_id, days=days, caller_role=context.role)
    except UserInputError as exc:
        await reply(update, refusal(exc, USAGE))
        return
    await reply(update, report_text(report))
    if report.days_with_data < CHART_MIN_DAYS:
        return
    bars = [(day.day, day.total.units) for day in report.days]
    title = f"Units per day, {report.first_day:%d %b} – {report.last_day:%d %b}"
    png = await asyncio.to_thread(units_chart, bars, title)  # CPU work: keep the event loop free
    try:
        await message.reply_photo(InputFile(png, filename="usage.png"), caption="📊 Units per day")
    except TelegramError:
        log.exception("could not send the usage chart")  # the table above already answered


def report_text(report: UsageReport) -> str:
    whose = "every chat" if report.chat_id is None else "this chat"
    span = f"{report.first_day.isoformat()} – {report.last_day.isoformat()}"
    head = [
        f"📈 <b>Usage of {whose}</b>, {span}",
        f"Total: {_tally(report.total)}",
    ]
    if report.by_provider:
        head.append(
            "By provider: " + "; ".join(f"{_provider(p)} {_tally(t)}" for p, t in sorted(report.by_provider.items()))
        )
    if report.alerts.messages:
        head.append(f"Alert SMS (the bot's own, outside every quota): {_tally(report.alerts)}")
    if not report.total.messages:
        return "\n".join([*head, "Nothing was sent in these days."])
    items = []
    if report.chat_id is None:
        items.append("<b>By chat</b>")
        ranked = sorted(report.by_chat.items(), key=lambda item: (-item[1].units, item[0]))
        items += [f"<code>{chat}</code>: {_tally(tally)}" for chat, tally in ranked]
        items.append("<b>By day</b>")
    for day in reversed(report.days):  # latest first: a cut list keeps the recent days
        if not day.total.messages:
            continue
        providers = ", ".join(f"{_provider(p)} {t.units:,}" for p, t in sorted(day.by_provider.items()))
        items.append(f"{day.day:%a %d %b}: {_tally(day.total)} ({providers})")
    return join_within_limit("\n".join(head), items, more=lambda n: f"…and {n:,} more lines: ask for fewer days")


def _tally(tally: Tally) -> str:
    cost = "" if tally.cost is None else f", {money(tally.cost)}"
    return plural(tally.units, "unit") + cost


def _provider(value: str) -> str:
    try:
        return ProviderName(value).label
    except ValueError:
        return value
