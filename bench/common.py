"""Shared set-up for the benchmark scripts: Django on the bench database and bench keys.

The scripts refuse to run against anything but a PostgreSQL database whose name contains
"bench", and against the demo's key file: they write and wipe data.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent
ROOT = BENCH_DIR.parent
RESULTS_DIR = BENCH_DIR / "results"

DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/amparo_bench"
DEFAULT_KEY_FILE = ROOT / "var" / "bench" / "keys.json"
DEFAULT_AUDIT_KEY_FILE = ROOT / "var" / "bench" / "audit-signing.pem"
DEFAULT_AUDIT_SINK = ROOT / "var" / "bench" / "audit-checkpoints"

# Offices: code, name, country, city, share of the people, supervisors, caseworkers.
OFFICES = [
    ("MX-CDMX", "COMAR Ciudad de México", "MX", "Ciudad de México", 0.40, 2, 11),
    ("MX-TAP", "COMAR Tapachula", "MX", "Tapachula", 0.25, 1, 7),
    ("CR-SJO", "Unidad de Refugio", "CR", "San José", 0.13, 1, 4),
    ("GT-GUA", "Departamento de Reconocimiento", "GT", "Ciudad de Guatemala", 0.12, 1, 4),
    ("BZ-BMP", "Refugees Department", "BZ", "Belmopan", 0.05, 1, 2),
    ("PA-PTY", "ONPAR", "PA", "Ciudad de Panamá", 0.05, 1, 2),
]
BIG_OFFICE = "MX-CDMX"


def setup_django() -> None:
    """Point Django at the bench database and key file, then django.setup()."""
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "settings.dev")
    os.environ.setdefault("DATABASE_URL", DEFAULT_DATABASE_URL)
    os.environ.setdefault("AMPARO_KEY_FILE", str(DEFAULT_KEY_FILE))
    os.environ.setdefault("AMPARO_AUDIT_KEY_FILE", str(DEFAULT_AUDIT_KEY_FILE))
    os.environ.setdefault("AMPARO_AUDIT_SINK", str(DEFAULT_AUDIT_SINK))
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    key_file = Path(os.environ["AMPARO_KEY_FILE"]).resolve()
    demo_keys = (ROOT / "var" / "keys").resolve()
    if key_file.is_relative_to(demo_keys) or "bench" not in key_file.parent.name:
        sys.exit(f"Refusing to use {key_file}: the benchmarks need their own key file in "
                 f"var/bench/ (AMPARO_KEY_FILE), never the demo's keys.")
    # The audit signing key and the checkpoint sink: bench ones too, never the demo's.
    for var in ("AMPARO_AUDIT_KEY_FILE", "AMPARO_AUDIT_SINK"):
        path = Path(os.environ[var]).resolve()
        if not path.is_relative_to((ROOT / "var" / "bench").resolve()):
            sys.exit(f"Refusing to use {path}: {var} must point into var/bench/.")
    if os.environ.get("AMPARO_KEYS"):
        sys.exit("Unset AMPARO_KEYS: the benchmarks read their keys from AMPARO_KEY_FILE.")

    import django

    django.setup()

    from django.conf import settings
    from django.db import connection

    # settings.dev turns DEBUG on; with it every query is kept and formatted, which
    # measures Django's debug machinery rather than Amparo. Time what production runs.
    settings.DEBUG = False

    if connection.vendor != "postgresql":
        sys.exit(f"The benchmarks run on PostgreSQL only (DATABASE_URL is {connection.vendor}).")
    name = connection.settings_dict["NAME"]
    if "bench" not in name:
        sys.exit(f"Refusing to write to database {name!r}: use a database named *bench*.")
    if not key_file.exists():
        sys.exit(f"{key_file} does not exist: run "
                 f"'AMPARO_KEY_FILE={key_file} .venv/bin/python manage.py init_keys' first.")
    audit_key = Path(settings.AMPARO_AUDIT_KEY_FILE)
    if not audit_key.exists():
        sys.exit(f"{audit_key} does not exist: run 'AMPARO_AUDIT_KEY_FILE={audit_key} "
                 f".venv/bin/python manage.py init_audit_key' first.")


def write_json(path: Path, data: dict) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, indent=2, ensure_ascii=False, default=str) + "\n")
