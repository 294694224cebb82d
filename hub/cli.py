"""``exekra hub ...`` and ``exekra license ...`` commands."""

from __future__ import annotations

import ipaddress
import socket
import sys
from pathlib import Path

import click

from .config import ConfigError, Settings, ensure_secrets, load_settings

CTX = {"help_option_names": ["-h", "--help"]}


def _settings(data_dir: str | None, **overrides: object) -> Settings:
    try:
        return load_settings(data_dir, **overrides)
    except ConfigError as exc:
        raise click.UsageError(str(exc)) from None


def init_hub(settings: Settings) -> list[str]:
    """Idempotent: secrets, config, schema, TLS certificate and proxy config."""
    from . import db
    from .migrations import migrate
    from .tls import ensure_tls

    try:
        made = ensure_secrets(settings)
    except OSError as exc:
        raise click.ClickException(
            f"cannot create the data folder {settings.data_path}: {exc.strerror or exc}"
            " (choose another with --data-dir)"
        ) from None
    database = db.make_database(settings.effective_database_url, pool_size=2)
    try:
        database.connect()
    except Exception as exc:  # noqa: BLE001 - report any driver error plainly
        raise click.ClickException(
            f"cannot connect to the database {settings.effective_database_url}: {exc}"
        ) from None
    try:
        applied = migrate(database)
    finally:
        database.close()
    made += [f"migration {name}" for name in applied]
    made += ensure_tls(settings)
    return made


@click.group("hub", context_settings=CTX)
def hub_group() -> None:
    """Initialise and run the hub."""


@hub_group.command("init")
@click.option("--data-dir", envvar="EXEKRA_DATA_DIR", help="Data folder (default ~/.exekra).")
def init_cmd(data_dir: str | None) -> None:
    """Create config, secrets (0600), database schema, TLS certificate and nginx config.

    Safe to run again: what exists is kept, and an up-to-date database is left unchanged.
    """
    settings = _settings(data_dir)
    made = init_hub(settings)
    if made:
        for item in made:
            click.echo(f"created {item}")
    else:
        click.echo(f"{settings.data_path}: already initialised, nothing to do")


@hub_group.command("serve")
@click.option("--data-dir", envvar="EXEKRA_DATA_DIR", help="Data folder (default ~/.exekra).")
@click.option("--host", default=None, help="Interface to bind (default 127.0.0.1).")
@click.option("--port", type=int, default=None, help="Port (default 5000; 0 picks a free one).")
@click.option("--threads", type=int, default=None, help="Worker threads (default 16).")
@click.option(
    "--allow-remote",
    is_flag=True,
    help="Allow binding a non-loopback address without TLS (put a TLS proxy in front!).",
)
def serve_cmd(
    data_dir: str | None,
    host: str | None,
    port: int | None,
    threads: int | None,
    allow_remote: bool,
) -> None:
    """Serve the REST API, web view, periodic jobs and (embedded) queue worker."""
    settings = _settings(data_dir, host=host, port=port, threads=threads)
    if not allow_remote and not _is_loopback(settings.host):
        raise click.UsageError(
            f"refusing to bind {settings.host} without TLS: put the generated nginx proxy in "
            "front and bind 127.0.0.1, or pass --allow-remote"
        )
    _check_free(settings.host, settings.port)  # before anything is created on disk
    init_hub(settings)
    from .server import serve

    serve(settings)


def _check_free(host: str, port: int) -> None:
    """A clear message instead of a traceback when the port is taken (or not ours to bind)."""
    if not port:
        return
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except OSError as exc:
        raise click.UsageError(f"cannot listen on {host}: {exc.strerror or exc}") from None
    family, kind, proto, _, address = infos[0]
    with socket.socket(family, kind, proto) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(address)
        except OSError as exc:
            raise click.ClickException(
                f"cannot listen on {host}:{port}: {exc.strerror or exc} — is another hub "
                "running there? Stop it or choose another port with --port"
            ) from None


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def first_run_state(settings: Settings) -> tuple[bool, bool]:
    """(a license is stored, a user exists) — what the first-run steps still have to do."""
    from . import db
    from .models import License, User

    database = db.make_database(settings.effective_database_url, pool_size=1)
    try:
        db.bind(database)
        database.connect()
        return License.select().exists(), User.select().exists()
    except Exception:  # noqa: BLE001 - a hub that cannot say: show every step
        return False, False
    finally:
        if not database.is_closed():
            database.close()


@hub_group.command("next-steps")
@click.option("--data-dir", envvar="EXEKRA_DATA_DIR")
@click.option("--host", default="127.0.0.1")
@click.option("--port", default=5000, type=int)
@click.option("--demo-vendor", default=None, help="Folder of a demo vendor key pair, if any.")
def next_steps_cmd(data_dir: str | None, host: str, port: int, demo_vendor: str | None) -> None:
    """Print what is left to do after the hub starts (the first-run steps, then how to go on)."""
    url = f"http://{host}:{port}"
    settings = _settings(data_dir)
    licensed, has_admin = first_run_state(settings)
    exe = "exekra"
    lic = settings.data_path / "exekra.lic"
    steps: list[str] = [f"Health:          curl {url}/api/health"]
    if not licensed:
        if demo_vendor:
            steps.append(
                f"A license:       {exe} license issue --private-key {demo_vendor}/private.pem "
                "--org ACME \\\n"
                f"                      --email admin@acme.test --runners 5 --days 365 --out {lic}"
                f"\n                      (demo vendor key in {demo_vendor}; production hubs use"
                " the vendor's key)"
            )
        else:
            key = settings.license_public_key or "EXEKRA_LICENSE_PUBLIC_KEY"
            steps.append(f"A license:       the .lic file from your vendor (vendor key: {key})")
        steps.append(f"Activate it:     curl -X POST --data-binary @{lic} {url}/api/license")
    if not has_admin:
        steps.append(
            f"First admin:     curl -X POST {url}/api/setup/admin -H 'Content-Type: "
            'application/json\' \\\n                      -d \'{"email": "admin@acme.test", '
            '"password": "change-me", "name": "Admin"}\''
        )
    steps += [
        f"Console:         {exe} console --hub {url}",
        "A runner:        register it in the console (Runners, then n), then\n"
        f"                      {exe} runner connect --hub {url} --key FC-... --secret ...\n"
        f"                      {exe} runner start",
    ]
    done = licensed and has_admin
    head = (
        "First run done (license stored, administrator created). To go on:"
        if done
        else "Next steps:"
    )
    body = "\n".join(f"  {i}. {step}" for i, step in enumerate(steps, 1))
    click.echo(
        f"\nExekra hub starting at {url}   (data folder: {settings.data_path})\n"
        f"  ({exe} is .venv/bin/{exe}; `source .venv/bin/activate` puts it on PATH)\n\n"
        f"{head}\n{body}\n  Web view:           {url}/\n"
    )


@hub_group.command("worker")
@click.option("--data-dir", envvar="EXEKRA_DATA_DIR")
def worker_cmd(data_dir: str | None) -> None:
    """A queue worker process for the Redis broker (EXEKRA_REDIS_URL must be set)."""
    settings = _settings(data_dir)
    if not settings.redis_url:
        raise click.UsageError("EXEKRA_REDIS_URL is not set: the embedded hub needs no worker")
    import importlib

    importlib.import_module("hub.queue_worker").run(settings)


# -- vendor tools ---------------------------------------------------------------------------


@click.group("license", context_settings=CTX)
def license_group() -> None:
    """Vendor tools: make a signing key pair and issue signed licenses."""


@license_group.command("keygen")
@click.option("--out", "out_dir", required=True, type=click.Path(file_okay=False))
def keygen_cmd(out_dir: str) -> None:
    """Create private.pem (keep it secret, mode 0600) and public.pem (ship it to hubs)."""
    from .services.license import keygen

    try:
        priv, pub = keygen(Path(out_dir))
    except FileExistsError as exc:
        raise click.UsageError(str(exc)) from None
    click.echo(f"private key: {priv}\npublic key:  {pub}")


@license_group.command("issue")
@click.option("--private-key", required=True, type=click.Path(exists=True, dir_okay=False))
@click.option("--org", required=True, help="Organisation name.")
@click.option("--email", required=True, help="Licensee email (the first admin's email).")
@click.option("--runners", required=True, type=click.IntRange(min=1), help="Runner limit.")
@click.option("--days", required=True, type=click.IntRange(min=1), help="Validity in days.")
@click.option("--out", "out_file", required=True, type=click.Path(dir_okay=False))
def issue_cmd(
    private_key: str, org: str, email: str, runners: int, days: int, out_file: str
) -> None:
    """Write a signed .lic file."""
    from .services.license import issue

    try:
        text = issue(
            Path(private_key).read_bytes(),
            organization=org,
            email=email,
            max_runners=runners,
            days=days,
        )
    except ValueError as exc:
        raise click.UsageError(str(exc)) from None
    Path(out_file).write_text(text)
    click.echo(f"license for {org} <{email}>: {runners} runners, {days} days -> {out_file}")


if __name__ == "__main__":  # pragma: no cover
    sys.exit(hub_group())
