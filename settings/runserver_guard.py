"""settings.dev's SECRET_KEY is published with the source code: whoever knows it can forge
sessions and signed links. `runserver` with it serves this computer only."""

from __future__ import annotations

import ipaddress
import re

DEV_SECRET_KEY = "dev-only-insecure-key-do-not-use-in-production"  # noqa: S105  (public on purpose)

# runserver's [addr:]port, as Django reads it.
_ADDRPORT = re.compile(r"^(?:(?P<addr>\d{1,3}(?:\.\d{1,3}){3}|\[[a-fA-F0-9:]+\]"
                       r"|[a-zA-Z0-9-]+(?:\.[a-zA-Z0-9-]+)*):)?(?P<port>\d+)$")
_TAKES_A_VALUE = {"--settings", "--pythonpath", "--verbosity", "-v"}


def _addrport(args: list[str]) -> tuple[str, bool]:
    """runserver's address argument ("" if none) and whether it was asked for IPv6."""
    positional, ipv6, skip = "", False, False
    for arg in args:
        if skip:
            skip = False
        elif arg in _TAKES_A_VALUE:
            skip = True
        elif arg in ("-6", "--ipv6"):
            ipv6 = True
        elif not arg.startswith("-") and not positional:
            positional = arg
    return positional, ipv6


def _loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False  # a host name: whatever it resolves to, it may be reachable


def public_runserver(argv: list[str], secret_key: str) -> str | None:
    """Why `argv` must not run, or None: runserver on an address other computers reach,
    with the public development key."""
    if len(argv) < 2 or argv[1] != "runserver" or secret_key != DEV_SECRET_KEY:
        return None
    addrport, ipv6 = _addrport(argv[2:])
    match = _ADDRPORT.match(addrport) if addrport else None
    host = (match.group("addr") if match else None) or ("::1" if ipv6 else "127.0.0.1")
    if host == "0":
        host = "0.0.0.0"  # noqa: S104  (what runserver makes of "0")
    if _loopback(host):
        return None
    return (f"Refusing to run the development server on {host}: settings.dev has a public "
            "SECRET_KEY, and other computers could reach this server. Listen on 127.0.0.1 "
            "(python manage.py runserver 127.0.0.1:8000), or set DJANGO_SECRET_KEY to a long "
            "random value; for a real installation use settings.prod.")
