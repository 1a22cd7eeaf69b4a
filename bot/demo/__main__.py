"""``python -m bot.demo`` (what ``make demo`` runs)."""

from __future__ import annotations

import sys

from bot.demo.terminal import main

if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
