"""Who may do what: roles per chat and the commands each role may use.

One table, read by the authorization guard (before any handler runs), by /help (to list only what the chat may
use) and by the command menu.
"""

from __future__ import annotations

from dataclasses import dataclass

from storage import Role


@dataclass(frozen=True, slots=True)
class Command:
    name: str
    usage: str
    description: str  # the command menu's text (Telegram: 3–256 characters)
    roles: frozenset[Role]


_ALL = frozenset({Role.ADMIN, Role.SENDER, Role.VIEWER})
_SENDERS = frozenset({Role.ADMIN, Role.SENDER})
_ADMINS = frozenset({Role.ADMIN})

COMMANDS: tuple[Command, ...] = (
    Command("start", "/start", "What this bot does", _ALL),
    Command("help", "/help", "Commands you can use here", _ALL),
    Command("send", "/send [via:texin|sms254] [in:10m|at:18:30] <number> <message>", "Send one SMS", _SENDERS),
    Command("bulk", "/bulk <numbers and @groups> then the message on the next lines", "Send one SMS to many", _SENDERS),
    Command("status", "/status [id]", "Delivery status of a message, or the latest ones", _ALL),
    Command("balance", "/balance", "Credit left with each provider", _ALL),
    Command("history", "/history [n]", "Latest messages and bulk jobs", _ALL),
    Command("export", "/export [job id]", "CSV of this chat's messages or of a job", _SENDERS),
    Command("retry", "/retry <job id>", "Resend a job's failed and unknown recipients", _ADMINS),
    Command("allow", "/allow <chat id> [admin|sender|viewer]", "Let a chat use the bot", _ADMINS),
    Command("deny", "/deny <chat id>", "Take a chat's access away", _ADMINS),
    Command("chats", "/chats", "Chats that may use the bot", _ADMINS),
    Command("group", "/group [show|add|remove|delete] <name> <numbers>", "Number lists to send to as @name", _ALL),
    Command("block", "/block <numbers> [reason]", "Opt numbers out: they are never texted", _SENDERS),
    Command("unblock", "/unblock <numbers>", "Take numbers off the opt-out blocklist", _ADMINS),
    Command("blocked", "/blocked [page]", "The opt-out blocklist: who blocked, when, why", _ALL),
    Command(
        "template",
        "/template [list [page]|show <name>|save <name> <text>|delete <name>]",
        "Saved message texts; a message that is only #name uses one",
        _ALL,
    ),
    Command("quota", "/quota [<chat id> <units per day>|off|default]", "Today's use and daily limit", _SENDERS),
    Command("usage", "/usage [days]", "Units and cost per day and provider, with a chart", _ALL),
    Command("scheduled", "/scheduled [page]", "Scheduled sends waiting to go out, with Cancel", _SENDERS),
    Command("alerts", "/alerts [all]", "Firing alerts: since when, acked, silenced, texted", _ADMINS),
)

COMMANDS_BY_NAME = {command.name: command for command in COMMANDS}


# Where a role may use only part of a command: the usage and description /help shows that role.
_PARTS: dict[tuple[str, Role], tuple[str, str]] = {
    ("group", Role.VIEWER): ("/group [show <name> [page]]", "Number lists to send to as @name (read only)"),
    ("template", Role.VIEWER): ("/template [list [page]|show <name>]", "Saved message texts (read only)"),
    ("quota", Role.SENDER): ("/quota", "This chat's use today and daily limit"),
    ("status", Role.VIEWER): ("/status [id]", "Delivery status of the team's messages (read only)"),
    ("history", Role.VIEWER): ("/history [n]", "The team's latest messages and bulk jobs (read only)"),
    ("history", Role.ADMIN): ("/history [n]", "Every chat's latest messages and bulk jobs"),
}


def commands_for(role: Role) -> list[Command]:
    """The commands ``role`` may use, each with the usage and description of the part it may use."""
    shown = []
    for command in COMMANDS:
        if role not in command.roles:
            continue
        usage, description = _PARTS.get((command.name, role), (command.usage, command.description))
        shown.append(Command(command.name, usage, description, command.roles))
    return shown


def may_use(role: Role, command_name: str) -> bool:
    command = COMMANDS_BY_NAME.get(command_name)
    return command is not None and role in command.roles
