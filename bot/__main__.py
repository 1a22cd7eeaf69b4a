"""``python -m bot`` runs the bot; ``python -m bot notify "<text>"`` sends a text to every admin chat and exits."""

from __future__ import annotations

import sys

from bot.cli import main

if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
