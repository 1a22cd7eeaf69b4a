"""Running the Application in an event loop someone else owns (the demo, the tests), in ``run_polling``'s order.

``run_polling`` takes over the loop and the signals. This does the same steps — initialize → ``post_init`` →
start polling → start, and on the way out stop polling → stop → ``post_stop`` → shutdown → ``post_shutdown`` —
inside ``async with``, so what runs is the production start-up and stop, hooks included.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from typing import Any

from bot.app import SmsApplication

# The updates the bot handles: Telegram sends nothing else (polling and webhook alike). "message" also brings
# the service messages of a group upgraded to a supergroup (handlers/migration.py).
ALLOWED_UPDATES = ["message", "callback_query"]


@contextlib.asynccontextmanager
async def polling(application: SmsApplication, **start_polling: Any) -> AsyncIterator[SmsApplication]:
    """The application running and long-polling; ``start_polling``: arguments for ``Updater.start_polling``."""
    await application.initialize()
    try:
        if application.post_init is not None:
            await application.post_init(application)
        assert application.updater is not None
        await application.updater.start_polling(**start_polling)
        await application.start()
        try:
            yield application
        finally:
            if application.updater.running:
                await application.updater.stop()
            if application.running:
                await application.stop()
            if application.post_stop is not None:
                await application.post_stop(application)
    finally:
        await application.shutdown()
        if application.post_shutdown is not None:
            await application.post_shutdown(application)
