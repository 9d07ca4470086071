from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import transaction

from cases import regional
from cases.models import Person


class Command(BaseCommand):
    help = ("Write every person's regional duplicate-check tokens under the regional key (after "
            "importing or changing it). Safe to stop and run again.")

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--batch-size", type=int, default=500)

    def handle(self, *args: Any, batch_size: int = 500, **opts: Any) -> None:
        if regional.regional_key() is None:
            raise CommandError("This installation holds no regional key: see 'regional_key'.")
        after = None
        done = 0
        while True:
            people = Person.objects.filter(erased_at__isnull=True).order_by("pk")
            if after is not None:
                people = people.filter(pk__gt=after)
            batch = list(people.prefetch_related("documents")[:batch_size])
            if not batch:
                break
            with transaction.atomic():
                for person in batch:
                    regional.index_person(person)
            done += len(batch)
            after = batch[-1].pk
        self.stdout.write(f"Regional tokens written for {done} people.")
