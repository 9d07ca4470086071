"""A second installation for tests that need two (case packages): the test settings with its
own database and key files, named by the environment."""

import os
from pathlib import Path

from settings.test import *  # noqa: F403

AMPARO_KEY_FILE = Path(os.environ["AMPARO_KEY_FILE"])
AMPARO_AUDIT_KEY_FILE = Path(os.environ["AMPARO_AUDIT_KEY_FILE"])
AMPARO_AUDIT_SINK = Path(os.environ["AMPARO_AUDIT_SINK"])
AMPARO_FILE_ROOT = Path(os.environ["AMPARO_AUDIT_SINK"]).parent / "peer-files"
