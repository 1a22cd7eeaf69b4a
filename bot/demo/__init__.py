"""``make demo``: the real bot in a terminal, against a stand-in Telegram and the SMS simulator.

Nothing leaves the machine: the Bot API stand-in is the fake server the tests use (``tests/fakes``, standard
library only) on 127.0.0.1, the provider is ``bot/providers/simulator.py``, the database a temporary file. The
``Application`` is the one ``python -m bot`` runs (``bot/app.py``), so every handler, service and migration is the
production code. ``session`` runs it, ``render`` turns its messages into plain text, ``terminal`` is the chat.
"""
