"""Start-up check of DATABASE_PATH's folder: created when missing, and written to once, so a folder the process
cannot use is one clear line instead of a traceback from deep inside the database or its lock."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path


def database_folder_problem(database_path: Path) -> str | None:
    """None when the folder of ``database_path`` exists (or was just made) and takes a file; else why not."""
    folder = database_path.parent
    try:
        folder.mkdir(parents=True, exist_ok=True)
        descriptor, probe = tempfile.mkstemp(prefix=".smsrelay-probe-", dir=folder)
        os.close(descriptor)
        os.unlink(probe)
    except OSError as exc:
        in_the_way = isinstance(exc, FileExistsError | NotADirectoryError)
        reason = "a file is in the way of a folder" if in_the_way else (exc.strerror or str(exc))
        return f"DATABASE_PATH={database_path}: its folder {folder} cannot be created or written ({reason})"
    return None
