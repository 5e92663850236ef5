"""`python manage.py create_api_key --name NAME [--user USERNAME]`: a key for the /v1 API."""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError, CommandParser

from evaluations import services

DEFAULT_USER = "api"


class Command(BaseCommand):
    help = (
        "Create an API key for the OpenAI-compatible /v1 API and print it once (only a hash "
        "is stored). The key sees only its user's files and batches."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--name", required=True, help="What the key is for.")
        parser.add_argument(
            "--user",
            default=None,
            help=f"The account the key acts as (default: an account named '{DEFAULT_USER}', "
            "created if missing).",
        )

    def handle(self, *args: Any, **opts: Any) -> None:
        users = get_user_model()
        if opts["user"]:
            owner = users.objects.filter(username=opts["user"]).first()
            if owner is None:
                raise CommandError(
                    f"There is no user '{opts['user']}'. Create it in the admin or with "
                    "`python manage.py createsuperuser`, or leave out --user."
                )
        else:
            owner, _ = users.objects.get_or_create(username=DEFAULT_USER)
        try:
            api_key, key = services.api_key_create(owner=owner, name=opts["name"])
        except services.InputError as exc:
            raise CommandError(exc.message) from exc
        self.stderr.write(
            f"Created API key '{api_key.name}' for user '{owner.get_username()}'. It is shown "
            "once; store it now:"
        )
        self.stdout.write(key)
