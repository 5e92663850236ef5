"""`python manage.py serve [--port 4080]`: migrate, then the web server and the workers."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from typing import Any

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError, CommandParser

from evaluations import lifeline, locks
from evaluations.llm import resolve_backend
from hrbatch import security


class Command(BaseCommand):
    help = "Run hrbatch: the web server and the django-q2 worker cluster, in the foreground."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--port", type=int, default=int(os.environ.get("PORT", 4080)))
        parser.add_argument("--host", default=os.environ.get("HOST", "127.0.0.1"))
        parser.add_argument("--threads", type=int, default=8, help="Web server threads.")
        parser.add_argument("--no-workers", action="store_true", help="Web server only.")

    def handle(self, *args: Any, **opts: Any) -> None:
        from waitress import serve

        refusal = security.public_key_refusal(opts["host"], str(settings.SECRET_KEY))
        if refusal:
            raise CommandError(refusal)  # exit status 1, before anything is started
        if not os.environ.get("SITE_URL"):
            _serve_links_on(opts["host"], opts["port"])
        locks.migrate()  # one process at a time on this data directory
        call_command("collectstatic", verbosity=0, interactive=False)
        if not opts["no_workers"]:
            # Work of a previous serve that was killed restarts now, not after its leases
            # run out or the next scheduled sweep; what its workers had queued, too.
            from evaluations import services

            services.sweep()
            services.queue_recover()
        # Imported after collectstatic: WhiteNoise indexes the static files it finds then.
        from hrbatch.wsgi import application

        choice = resolve_backend()
        backend = choice.name
        if backend == "ollama":
            backend += f" at {', '.join(settings.HRBATCH['OLLAMA_HOSTS'])}"
        self.stdout.write(f"LLM backend: {backend}")
        if choice.notice:
            self.stdout.write(self.style.WARNING(choice.notice))

        cluster = None
        if not opts["no_workers"]:
            # It dies with us (kill -9 included): an orphan would double the workers
            # of the next serve on this machine.
            cluster = subprocess.Popen(
                [sys.executable, str(settings.BASE_DIR / "manage.py"), "qcluster"],
                cwd=settings.BASE_DIR,
                env=lifeline.child_env(),
                preexec_fn=lifeline.die_with_parent,  # serve has no threads yet
            )
        url = f"http://{opts['host']}:{opts['port']}/"
        self.stdout.write(self.style.SUCCESS(f"hrbatch is running at {url}  (Ctrl-C stops it)"))
        self.stdout.flush()
        signal.signal(signal.SIGTERM, signal.default_int_handler)
        try:
            serve(
                application,
                host=opts["host"],
                port=opts["port"],
                threads=opts["threads"],
                # Candidate files can be hundreds of MB. Django words the refusal past
                # HRBATCH_MAX_UPLOAD_MB; the page checks the size before sending, too.
                max_request_body_size=settings.HRBATCH_MAX_UPLOAD_BYTES * 2,
                channel_timeout=300,
                _quiet=True,
            )
        except KeyboardInterrupt:
            pass
        finally:
            if cluster is not None and cluster.poll() is None:
                cluster.send_signal(signal.SIGTERM)
                try:
                    cluster.wait(timeout=60)
                except subprocess.TimeoutExpired:
                    cluster.kill()
            self.stdout.write("hrbatch stopped.")


def _serve_links_on(host: str, port: int) -> None:
    """With no SITE_URL, e-mailed links point where this server listens, --host/--port
    included; the worker cluster (started below) inherits the address from the
    environment, so the links it e-mails match."""
    from hrbatch import security

    site = security.site_url_for(host, port)
    os.environ["SITE_URL"] = settings.SITE_URL = site
    if not os.environ.get("ALLOWED_HOSTS"):
        settings.ALLOWED_HOSTS = security.allowed_hosts_for(site, host)
    if not os.environ.get("CSRF_TRUSTED_ORIGINS"):
        settings.CSRF_TRUSTED_ORIGINS = [security.origin(site)]
