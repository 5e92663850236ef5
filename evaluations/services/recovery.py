"""Recovery: hand back the leases of dead workers, redispatch stalled runs, finish stuck ones.

`sweep` runs every minute (django-q2 schedule) and at `serve` start; idempotent and safe to
run from several machines at once.
"""

from __future__ import annotations

import socket
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from .. import notify
from ..models import Item, Run
from .batches import batch_expire_overdue
from .processes import holder_alive, pid_alive
from .runs import (
    run_dispatch,
    run_finalize,
    run_finalize_if_done,
    run_redispatch,
    run_start,
)


def _dead_holders(now: Any) -> list[str]:
    """Holders of live leases that are provably dead: processes of this machine that are
    gone. Leases of other machines keep their timed expiry (we cannot see their pids)."""
    holders = (
        Item.objects.filter(
            status=Item.Status.PENDING,
            lease_token__isnull=False,
            lease_until__gte=now,
            lease_holder__startswith=f"{socket.gethostname()}:",
        )
        .values_list("lease_holder", flat=True)
        .distinct()
    )
    return [holder for holder in holders if not holder_alive(holder)]


def leases_release_dead() -> int:
    """Hand back at once the Items leased by processes of this machine that are gone
    (a rerun after a crash need not wait for their leases to run out)."""
    dead = _dead_holders(timezone.now())
    if not dead:
        return 0
    return Item.objects.filter(
        status=Item.Status.PENDING, lease_token__isnull=False, lease_holder__in=dead
    ).update(lease_token=None, lease_until=None)


def clusters_alive() -> bool:
    """Whether a django-q2 worker cluster is running: one registered in the shared cache,
    and on this machine still a live process (its stats outlive it by a few seconds)."""
    from django_q.brokers import get_broker
    from django_q.status import Stat

    return any(_stat_alive(stat) for stat in Stat.get_all(broker=get_broker()))


def _stat_alive(stat: Any) -> bool:
    if getattr(stat, "host", None) != socket.gethostname():
        return True  # another machine's: its stats expire with it
    # A zombie is dead: the cluster of a serve killed with `kill -9` is one until something
    # reaps it (seen for seconds under a container's init), and counting it alive left the
    # tasks it had taken locked for an hour.
    return pid_alive(stat.pid)


def queue_recover() -> int:
    """Hand out again the work that a worker cluster which is gone had queued or taken,
    at once, as the leases of dead processes are (`serve` starting after a `kill -9`, an
    `evaluate` taking over from the one it followed). Returns the tasks handed out again.

    With the database broker and no cluster running, the tasks a dead cluster had taken
    are unlocked: the broker would otherwise hold them until their retry time (an hour,
    HRBATCH_TASK_TIMEOUT). With Redis, or while another cluster runs (whose tasks cannot
    be told from the dead one's), the running runs are dispatched again instead: a
    duplicate task finds nothing to claim, so this is safe to over-do.
    """
    from django_q.brokers import get_broker
    from django_q.conf import Conf
    from django_q.models import OrmQ

    leases_release_dead()
    if Conf.ORM and not clusters_alive():
        now = timezone.now()
        return (
            OrmQ.objects.using(Conf.ORM)
            .filter(key=get_broker().list_key, lock__gt=now)
            .update(lock=now)
        )
    handed = 0
    for run in Run.objects.filter(status=Run.Status.IN_PROGRESS):
        handed += run_redispatch(run=run)
    return handed


def sweep() -> dict[str, int]:
    """Periodic recovery: re-queue Items of dead workers, finish stuck runs.

    Idempotent and safe to run from several machines at once.
    """
    conf = settings.HRBATCH
    now = timezone.now()
    report = {"released": 0, "redispatched": 0, "finalized": 0}
    report["expired"] = batch_expire_overdue()  # API batches past their 24h window

    # Leases that ran out, and at once those of dead processes on this machine.
    expired = Item.objects.filter(
        Q(lease_until__lt=now) | Q(lease_holder__in=_dead_holders(now)),
        lease_token__isnull=False,
        status=Item.Status.PENDING,
    )
    run_ids = set(expired.values_list("run_id", flat=True).distinct())
    for run_id in run_ids:
        with transaction.atomic():
            report["released"] += expired.filter(run_id=run_id).update(
                lease_token=None, lease_until=None
            )
            run = Run.objects.get(pk=run_id)
            if run.may("redispatch"):
                run_dispatch(run=run)
                report["redispatched"] += 1

    # Runs started while no LLM host answered start once one does.
    for run in Run.objects.filter(status=Run.Status.IN_PROGRESS, in_progress_at=None):
        run_start(run=run)

    stall_before = now - timedelta(seconds=conf["STALL_SECONDS"])
    running = Run.objects.filter(status=Run.Status.IN_PROGRESS, in_progress_at__isnull=False)
    for run in running.exclude(pk__in=run_ids):
        if run.pending_count == 0:
            continue
        last = max(filter(None, [run.dispatched_at, run.last_progress_at, run.in_progress_at]))
        live_leases = Item.objects.filter(
            run_id=run.pk, lease_token__isnull=False, lease_until__gte=now
        ).exists()
        if last < stall_before and not live_leases:
            report["redispatched"] += int(bool(run_redispatch(run=run)))

    for run_id in Run.objects.filter(
        status__in=[Run.Status.IN_PROGRESS, Run.Status.CANCELLING]
    ).values_list("pk", flat=True):
        report["finalized"] += int(run_finalize_if_done(run_id=run_id))
    # E-mails that could not be sent (SMTP down) are tried again for a day.
    for run in Run.objects.filter(
        status__in=Run.TERMINAL_STATUSES,
        notified_at=None,
        created_at__gte=now - timedelta(days=1),
    ).exclude(notify_email="", owner__email=""):
        notify.run_finished(run=run)
    # A worker that died while writing the outputs leaves the run in `finalizing`.
    stuck = now - timedelta(seconds=conf["LEASE_SECONDS"] * 5)
    for run in Run.objects.filter(status=Run.Status.FINALIZING, finalizing_at__lt=stuck):
        final = Run.Status.CANCELLED if run.cancelling_at else Run.Status.COMPLETED
        if Run.objects.filter(pk=run.pk, finalizing_at=run.finalizing_at).update(finalizing_at=now):
            report["finalized"] += int(run_finalize(run=run, final=final))
    return report
