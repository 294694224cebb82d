"""``exekra hub init`` TLS: a self-signed certificate and an nginx reverse-proxy config.

Production puts nginx (or another proxy) in front of waitress to terminate TLS; replace the
generated certificate with one from the organisation's CA.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import os
import socket

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from .config import Settings, write_secret_file

NGINX_TEMPLATE = """# Exekra hub behind nginx: TLS on 4545, proxied to waitress on {host}:{port}.
server {{
    listen 4545 ssl;
    server_name {hostname};
    ssl_certificate     {cert};
    ssl_certificate_key {key};
    client_max_body_size 2m;
    # the runners' wake-up channel: long-lived event streams, answered by the hub's own
    # asyncio listener (no waitress thread per waiting runner)
    location = /api/runner/wait {{
        proxy_pass http://{host}:{channel_port};
        proxy_set_header Host $host;
        proxy_set_header X-Forwarded-For $remote_addr;
        proxy_set_header X-Forwarded-Proto https;
        proxy_http_version 1.1;
        proxy_set_header Connection "";
        proxy_buffering off;
        proxy_read_timeout 120s;
    }}
    location / {{
        proxy_pass http://{host}:{port};
        proxy_set_header Host $host;
        proxy_set_header X-Forwarded-For $remote_addr;
        proxy_set_header X-Forwarded-Proto https;
        proxy_read_timeout 120s;
    }}
}}
"""


def ensure_tls(settings: Settings) -> list[str]:
    made: list[str] = []
    tls = settings.data_path / "tls"
    tls.mkdir(exist_ok=True)
    cert_path, key_path = tls / "hub.crt", tls / "hub.key"
    hostname = socket.gethostname()
    if not cert_path.exists() or not key_path.exists():
        key = ec.generate_private_key(ec.SECP256R1())
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, hostname)])
        now = dt.datetime.now(dt.UTC)
        cert = (
            x509.CertificateBuilder()
            .subject_name(name)
            .issuer_name(name)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(minutes=5))
            .not_valid_after(now + dt.timedelta(days=825))
            .add_extension(
                x509.SubjectAlternativeName(
                    [
                        x509.DNSName(hostname),
                        x509.DNSName("localhost"),
                        x509.IPAddress(ipaddress.ip_address("127.0.0.1")),
                    ]
                ),
                critical=False,
            )
            .sign(key, hashes.SHA256())
        )
        if key_path.exists():
            os.unlink(key_path)
        write_secret_file(
            key_path,
            key.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            ),
        )
        cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
        made += [str(cert_path), str(key_path)]
    conf = settings.data_path / "nginx-exekra.conf"
    if not conf.exists():
        conf.write_text(
            NGINX_TEMPLATE.format(
                host=settings.host,
                port=settings.port,
                channel_port=settings.effective_channel_port or settings.port + 1,
                hostname=hostname,
                cert=cert_path,
                key=key_path,
            )
        )
        made.append(str(conf))
    return made
