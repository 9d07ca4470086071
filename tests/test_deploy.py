"""The shipped deployment files (deploy/, README "Production deployment") keep the settings
the security review relies on, and nginx accepts the proxy configuration as written."""

from __future__ import annotations

import datetime
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from tests.cases.test_settings import prod_env, run_under_production  # noqa: F401

DEPLOY = Path(__file__).resolve().parents[1] / "deploy"
NGINX = DEPLOY / "nginx.conf"
UNITS = sorted(DEPLOY.glob("*.service"))


def directives(text: str, name: str) -> list[str]:
    """The arguments of every `name ...;` directive, comments left out."""
    code = "\n".join(line.split("#", 1)[0] for line in text.splitlines())
    pattern = r'(?m)^\s*' + re.escape(name) + r'\s+((?:"[^"]*"|[^;"{}])*);'
    return [m.group(1).strip() for m in re.finditer(pattern, code)]


@pytest.fixture(scope="module")
def conf() -> str:
    return NGINX.read_text()


def test_tls_is_1_2_and_1_3_only_with_forward_secret_aead_suites(conf):
    assert directives(conf, "ssl_protocols") == ["TLSv1.2 TLSv1.3"]
    (ciphers,) = directives(conf, "ssl_ciphers")
    suites = ciphers.split(":")
    assert all(s.startswith("ECDHE-") and ("GCM" in s or "CHACHA20" in s) for s in suites), suites
    assert "AES256" in suites[0]  # the strongest preferred
    assert directives(conf, "ssl_prefer_server_ciphers") == ["on"]
    assert directives(conf, "ssl_session_tickets") == ["off"]


def test_hsts_is_sent_on_every_answer(conf):
    (hsts,) = [d for d in directives(conf, "add_header") if d.startswith("Strict-Transport-Security")]
    max_age = int(re.search(r"max-age=(\d+)", hsts).group(1))
    assert max_age >= 31536000 and "includeSubDomains" in hsts and hsts.endswith("always")


def test_the_proxy_sets_the_forwarding_headers_itself(conf):
    headers = directives(conf, "proxy_set_header")
    passes = directives(conf, "proxy_pass")
    assert passes and all(p == "http://amparo" for p in passes)
    # Every location that passes on sets X-Forwarded-Proto from the connection, never from
    # what the client sent ($http_x_forwarded_proto), and overwrites X-Forwarded-For.
    assert headers.count("X-Forwarded-Proto $scheme") == len(passes)
    assert headers.count("X-Forwarded-For $remote_addr") == len(passes)
    assert not any("$http_x_forwarded" in h or "$proxy_add_x_forwarded_for" in h for h in headers)


def test_bodies_are_capped_and_read_whole_before_gunicorn(conf):
    sizes = directives(conf, "client_max_body_size")
    assert sizes and all(re.fullmatch(r"[1-9]\d*m", s) for s in sizes), sizes
    assert int(sizes[0][:-1]) <= 25  # the general cap: uploads of 20 MB and their form
    buffering = directives(conf, "proxy_request_buffering")
    assert buffering and set(buffering) == {"on"}
    assert set(directives(conf, "proxy_http_version")) == {"1.1"}
    assert directives(conf, "underscores_in_headers") == ["off"]
    assert directives(conf, "ignore_invalid_headers") == ["on"]


def test_only_get_head_and_post_pass(conf):
    code = "\n".join(line.split("#", 1)[0] for line in conf.splitlines())
    method_check = re.search(r"if \(\$request_method !~ \^\(GET\|HEAD\|POST\)\$\)\s*\{\s*return 405;", code)
    assert method_check or "limit_except GET POST" in code


def test_gunicorn_is_reached_over_a_unix_socket_or_loopback(conf):
    servers = directives(conf, "server")
    assert servers and all(s.startswith("unix:") or s.startswith(("127.", "[::1]")) for s in servers)


@pytest.mark.parametrize("unit", UNITS, ids=lambda p: p.name)
def test_each_unit_runs_production_settings_as_its_own_user(unit):
    text = unit.read_text()
    assert "Environment=DJANGO_SETTINGS_MODULE=settings.prod" in text.splitlines()
    assert re.search(r"(?m)^User=amparo$", text) and "NoNewPrivileges=yes" in text
    assert "EnvironmentFile=/etc/amparo/amparo.env" in text  # secrets out of the unit


def test_the_units_cover_the_web_the_workers_and_beat():
    commands = {p.name: re.search(r"(?ms)^ExecStart=(.*?)(?<!\\)$", p.read_text()).group(1) for p in UNITS}
    assert "gunicorn settings.wsgi" in commands["amparo-web.service"]
    assert "unix:/run/amparo/gunicorn.sock" in commands["amparo-web.service"]
    assert "celery -A settings worker" in commands["amparo-worker.service"]
    assert "-Q biometrics" in commands["amparo-biometrics.service"]
    assert "--concurrency 1" in commands["amparo-biometrics.service"]
    assert "celery -A settings beat" in commands["amparo-beat.service"]


def _self_signed(directory: Path) -> tuple[Path, Path]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "amparo.example.org")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now).not_valid_after(now + datetime.timedelta(days=1))
            .sign(key, hashes.SHA256()))
    cert_file, key_file = directory / "fullchain.pem", directory / "privkey.pem"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                           serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return cert_file, key_file


def test_nginx_accepts_the_configuration(conf, tmp_path):
    nginx = shutil.which("nginx") or next(
        (p for p in ("/usr/sbin/nginx",) if Path(p).exists()), None)
    if nginx is None:
        pytest.skip("nginx is not installed (Debian: apt-get install nginx-light)")
    cert, key = _self_signed(tmp_path)
    local = (conf.replace("/etc/ssl/amparo/fullchain.pem", str(cert))
             .replace("/etc/ssl/amparo/privkey.pem", str(key))
             .replace("/var/log/nginx/", f"{tmp_path}/")
             .replace("/run/nginx.pid", str(tmp_path / "nginx.pid")))
    (tmp_path / "nginx.conf").write_text(local)

    result = subprocess.run([nginx, "-t", "-p", str(tmp_path), "-c", str(tmp_path / "nginx.conf"),
                             "-g", f"error_log {tmp_path}/startup.log;"],
                            capture_output=True, text=True, timeout=60, check=False)

    assert result.returncode == 0, result.stderr
    assert "syntax is ok" in result.stderr and "test is successful" in result.stderr


@pytest.mark.parametrize(("url", "expected"), [
    ("amqps://amparo@mq.example.org:5671/amparo",
     "{'cert_reqs': <VerifyMode.CERT_REQUIRED: 2>, 'server_hostname': 'mq.example.org', "
     "'ca_certs': '/etc/amparo/broker-ca.pem'}"),
    ("rediss://cache.example.org:6380/0",
     "{'ssl_cert_reqs': <VerifyMode.CERT_REQUIRED: 2>, 'ssl_check_hostname': True, "
     "'ssl_ca_certs': '/etc/amparo/broker-ca.pem'}"),
    ("redis://127.0.0.1:6379/0", "None"),
])
def test_a_tls_broker_is_reached_with_its_certificate_checked(prod_env, url, expected):  # noqa: F811
    env = {**prod_env, "CELERY_BROKER_URL": url, "AMPARO_BROKER_CA_FILE": "/etc/amparo/broker-ca.pem"}

    result = run_under_production(env, "from django.conf import settings\n"
                                       "print(getattr(settings, 'CELERY_BROKER_USE_SSL', None))")

    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == expected


CHECK = ("from cases.checks import check_connections\n"
         "for m in check_connections(None): print(m.id, m.msg)\n")


def test_check_deploy_warns_of_each_connection_that_leaves_the_host_unencrypted(prod_env):  # noqa: F811
    env = {**prod_env, "DATABASE_URL": "postgres://amparo_app@db.example.org:5432/amparo?sslmode=require",
           "CELERY_BROKER_URL": "amqp://amparo@mq.example.org:5672/amparo",
           "AMPARO_FRAGMENT_CACHE_URL": "redis://cache.example.org:6379/1",
           "AMPARO_EMAIL_HOST": "smtp.example.org"}

    result = run_under_production(env, CHECK)

    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert len(lines) == 4 and all(line.startswith("amparo.W050 ") for line in lines), lines
    for host in ("db.example.org", "mq.example.org", "cache.example.org", "smtp.example.org"):
        assert any(host in line for line in lines), host


def test_check_deploy_accepts_verified_tls_and_local_sockets(prod_env):  # noqa: F811
    env = {**prod_env,
           "DATABASE_URL": "postgres://amparo_app@db.example.org:5432/amparo?sslmode=verify-full",
           "AMPARO_MIGRATE_DATABASE_URL": "postgres://amparo_owner@%2Fvar%2Frun%2Fpostgresql/amparo",
           "CELERY_BROKER_URL": "amqps://amparo@mq.example.org:5671/amparo",
           "AMPARO_FRAGMENT_CACHE_URL": "rediss://cache.example.org:6380/1",
           "AMPARO_EMAIL_HOST": "smtp.example.org", "AMPARO_EMAIL_TLS": "1"}

    result = run_under_production(env, CHECK)

    assert result.returncode == 0, result.stderr
    assert result.stdout == ""
