"""``exekra hub serve``: the hub under waitress, with background work and a clean shutdown."""

from __future__ import annotations

import logging
import signal
import sys
from typing import Any

from .app import create_app, stop_background_work
from .config import Settings

log = logging.getLogger("exekra.hub")


def serve(settings: Settings) -> None:
    from waitress.server import create_server

    logging.basicConfig(
        level=getattr(logging, settings.log_level.upper(), logging.INFO),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    app = create_app(settings, start_background=True, serve_channel=True)
    hub = app.hub
    server = create_server(
        app,
        host=settings.host,
        port=settings.port,
        threads=settings.threads,
        connection_limit=settings.connection_limit,
        channel_timeout=120,
        asyncore_use_poll=True,
        ident="exekra-hub",
        clear_untrusted_proxy_headers=False,
        # waitress's own cap (1 GiB by default) must never cut an allowed artifact upload
        max_request_body_size=max(
            1 << 30, settings.artifact_max_bytes + 1, settings.max_body_bytes + 1
        ),
    )
    from .resources.runner_api import keep_alive_on_204

    keep_alive_on_204(server)  # idle runner polls answer 204: keep their connections open
    channel = hub.channel

    def shutdown(signum: int, frame: Any) -> None:
        log.info("signal %s: shutting down", signum)
        stop_background_work(hub)
        server.close()
        sys.exit(0)

    signal.signal(signal.SIGTERM, shutdown)
    signal.signal(signal.SIGINT, shutdown)
    log.info(
        "Exekra hub %s serving on http://%s:%s (database: %s, queue: %s)",
        hub.version,
        settings.host,
        server.effective_port,  # type: ignore[union-attr]
        "postgresql" if "postgres" in settings.effective_database_url else "sqlite",
        "redis" if settings.redis_url else "memory",
    )
    if channel is not None and channel.running:
        log.info(
            "runner wake-up channel on http://%s:%s/api/runner/wait", channel.host, channel.port
        )
    print(f"EXEKRA_HUB_LISTENING {server.effective_port}", flush=True)  # type: ignore[union-attr]
    server.run()
