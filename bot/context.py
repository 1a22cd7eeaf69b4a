"""Typed access to what handlers need: the services (in ``bot_data``) and the chat's role (set by the guard)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from telegram.ext import Application, CallbackContext, ExtBot

from storage import Role

if TYPE_CHECKING:
    from bot.runtime import Services
    from bot.web import WebSide


class AppState:
    """``bot_data``: empty until ``post_init`` has built the services."""

    def __init__(self) -> None:
        self._services: Services | None = None
        self.web: WebSide | None = None  # the HTTP side: metrics, Telegram contact, the server (bot/web/)

    @property
    def ready(self) -> bool:
        return self._services is not None

    @property
    def services(self) -> Services:
        if self._services is None:
            raise RuntimeError("services are not ready: post_init has not run")
        return self._services

    @services.setter
    def services(self, services: Services | None) -> None:
        self._services = services


class SmsContext(CallbackContext[ExtBot[None], dict[Any, Any], dict[Any, Any], AppState]):
    """One context per update, shared by every handler group, so the guard's ``role`` reaches the handlers."""

    def __init__(
        self,
        application: Application[Any, Any, Any, Any, Any, Any],
        chat_id: int | None = None,
        user_id: int | None = None,
    ) -> None:
        super().__init__(application=application, chat_id=chat_id, user_id=user_id)
        self.role: Role | None = None

    @property
    def services(self) -> Services:
        return self.bot_data.services

    @property
    def is_admin(self) -> bool:
        return self.role is Role.ADMIN
