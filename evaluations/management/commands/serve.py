"""`python manage.py serve [--port 4080]`: migrate, then the web server and the workers.

SIGTERM or Ctrl-C stops it within seconds whatever it is doing: requests in hand and the
worker cluster get a few seconds to finish, then the cluster's processes are killed (their
work is leased, and taken up again by the next start) and the process ends without waiting
for any thread (a request stuck on a slow page or a slow LLM server included).
"""

from __future__ import annotations

import contextlib
import faulthandler
import logging
import os
import signal
import subprocess
import sys
import time
from types import FrameType
from typing import Any

import psutil
from django.conf import settings
from django.core.handlers.wsgi import WSGIHandler
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError, CommandParser

from hrbatch import security

# After SIGTERM or Ctrl-C: what requests in hand and the worker cluster get to finish
# (waitress gives its threads 5 s), and when the process ends whatever a thread is doing.
STOP_GRACE_SECONDS = 5.0
HARD_STOP_SECONDS = 15


class Command(BaseCommand):
    help = "Run hrbatch: the web server and the django-q2 worker cluster, in the foreground."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--port", type=int, default=int(os.environ.get("PORT", 4080)))
        parser.add_argument("--host", default=os.environ.get("HOST", "127.0.0.1"))
        parser.add_argument("--threads", type=int, default=8, help="Web server threads.")
        parser.add_argument("--no-workers", action="store_true", help="Web server only.")

    def handle(self, *args: Any, **opts: Any) -> None:
        from evaluations import selectors, services

        refusal = security.public_key_refusal(opts["host"], str(settings.SECRET_KEY))
        if refusal:
            raise CommandError(refusal)  # exit status 1, before anything is started
        if not os.environ.get("SITE_URL"):
            _serve_links_on(opts["host"], opts["port"])
        services.database_migrate()  # one process at a time on this data directory
        call_command("collectstatic", verbosity=0, interactive=False)
        if not opts["no_workers"]:
            # Work of a previous serve that was killed restarts now, not after its leases
            # run out or the next scheduled sweep; what its workers had queued, too.
            services.sweep()
            services.queue_recover()
        # Imported after collectstatic: WhiteNoise indexes the static files it finds then.
        from hrbatch.wsgi import application

        backend, notice = selectors.backend_said()
        self.stdout.write(f"LLM backend: {backend}")
        if notice:
            self.stdout.write(self.style.WARNING(notice))
        # It dies with us (kill -9 included); serve has no threads yet.
        cluster = None if opts["no_workers"] else services.worker_cluster_start()
        url = f"http://{opts['host']}:{opts['port']}/"
        self.stdout.write(self.style.SUCCESS(f"hrbatch is running at {url}  (Ctrl-C stops it)"))
        self.stdout.flush()
        stop_at: list[float] = []
        self._on_stop_signals(cluster, stop_at)
        try:
            _serve(application, opts)
        except KeyboardInterrupt:
            pass
        finally:
            _stop_cluster(cluster, stop_at)
            self.stdout.write("hrbatch stopped.")
        # Not Python's own exit, which waits for every non-daemon thread and exit hook: a
        # request still in hand (a long page, a call to a slow LLM server) would keep the
        # server alive after it said it stopped.
        logging.shutdown()
        self.stdout.flush()
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(0)

    @staticmethod
    def _on_stop_signals(cluster: subprocess.Popen[bytes] | None, stop_at: list[float]) -> None:
        """SIGTERM or Ctrl-C ends the web server's loop (the time noted in `stop_at`) and
        tells the cluster to stop meanwhile; asked twice, everything ends at once."""

        def stop(signum: int, frame: FrameType | None) -> None:
            if stop_at:  # asked twice: at once
                _kill_tree(cluster)
                os._exit(128 + signum)
            stop_at.append(time.monotonic())
            # The cluster stops while the web server does, not after it.
            if cluster is not None and cluster.poll() is None:
                cluster.send_signal(signal.SIGTERM)
            # A watchdog thread in C (it needs no Python lock): should anything below hang,
            # it prints every thread's stack (which request was stuck) and ends the process.
            faulthandler.dump_traceback_later(HARD_STOP_SECONDS, exit=True)
            raise KeyboardInterrupt  # ends waitress's loop in the main thread

        signal.signal(signal.SIGTERM, stop)
        signal.signal(signal.SIGINT, stop)


def _serve(application: WSGIHandler, opts: dict[str, Any]) -> None:
    """The web server, in this thread, until SIGTERM or Ctrl-C."""
    from waitress import serve

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


def _stop_cluster(cluster: subprocess.Popen[bytes] | None, stop_at: list[float]) -> None:
    """The cluster stops within STOP_GRACE_SECONDS of the stop being asked, or is killed:
    busy with a chunk of candidates, its leases hand them to the next start."""
    if cluster is None or cluster.poll() is not None:
        return
    if not stop_at:
        cluster.send_signal(signal.SIGTERM)
    began = stop_at[0] if stop_at else time.monotonic()
    try:
        cluster.wait(timeout=max(0.5, began + STOP_GRACE_SECONDS - time.monotonic()))
    except subprocess.TimeoutExpired:
        _kill_tree(cluster)


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


def _kill_tree(process: subprocess.Popen[bytes] | None) -> None:
    """Kill a child and every process under it (the cluster's sentinel, workers, monitor):
    killing only the cluster's own process would leave its workers scoring on, orphaned."""
    if process is None or process.poll() is not None:
        return
    with contextlib.suppress(psutil.Error):
        tree = psutil.Process(process.pid).children(recursive=True)
        process.kill()
        for child in tree:
            with contextlib.suppress(psutil.Error):
                child.kill()
    with contextlib.suppress(subprocess.TimeoutExpired):
        process.wait(timeout=5)
