"""The optional HTTP side of the bot: health, metrics, alert intake and the Telegram webhook (README "Deploy")."""

from bot.web.server import HttpStartError, WebSide

__all__ = ["HttpStartError", "WebSide"]
