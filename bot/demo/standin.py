"""The Bot API stand-in: the fake Telegram server of the test suite, reused rather than copied.

It is standard library only and faithful where it matters for a demo (it refuses the HTML Telegram would refuse,
it serves files and button presses the way Telegram does), and keeping one copy means the demo cannot drift from
what the tests check. It lives in ``tests/fakes``, which is not installed with the package: the demo runs from a
checkout (``make demo`` runs in the repository root; the root is also found from this file's place).
"""

from __future__ import annotations

import sys
from pathlib import Path

_ROOT = Path(__file__).resolve().parents[2]
if (_ROOT / "tests" / "fakes" / "telegram_server.py").is_file() and str(_ROOT) not in sys.path:
    sys.path.insert(0, str(_ROOT))

try:
    from tests.fakes.telegram_records import CallbackAnswer, SentMessage
    from tests.fakes.telegram_server import FakeTelegram
except ImportError as exc:  # an installed package without the checkout
    raise SystemExit(
        "The demo needs the smsrelay source checkout (it uses tests/fakes/telegram_server.py): "
        f"run `make demo` in the repository. ({exc})"
    ) from None

__all__ = ["CallbackAnswer", "FakeTelegram", "SentMessage"]
