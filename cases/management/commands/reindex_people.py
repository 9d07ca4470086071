"""Rewrite every person's blind-index entries with the active index key generation
(docs/architecture.md#index-key-generations)."""

import contextlib
import json
from typing import Any

from cryptography.exceptions import InvalidTag
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone

from cases import events
from cases.crypto import blind, datakeys, keyring
from cases.crypto.datakeys import key_scope
from cases.models import IdentityDocument, IndexRebuild, Person, PersonIndex

# A data key that cannot be unwrapped: its KEK is gone from the key file, its bytes are
# damaged or cut (as datakeys.rotate_batch). ValueError: a cut-off key.
UNREADABLE = (keyring.KeyringError, InvalidTag, ValueError)
EVENT_IDS = 100  # at most this many person ids in an audit event (all are printed)


class Command(BaseCommand):
    help = ("Re-index every person with the active index key generation, in batches in id order. "
            "Safe to stop and re-run: it goes on after the last batch done. At the end the "
            "entries of older generations are removed.")

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--batch-size", type=int, default=500)
        parser.add_argument("--max-batches", type=int, default=0,
                            help="Stop after this many batches (0: run to the end).")
        parser.add_argument("--json", action="store_true", help="Print progress as JSON lines.")

    def handle(self, *args: Any, batch_size: int = 500, max_batches: int = 0,
               json: bool = False, **opts: Any) -> None:
        if batch_size < 1:
            raise CommandError("--batch-size must be 1 or more.")
        self.as_json = json
        generation = keyring.provider(fresh=True).active_index
        blind.index_key("name", generation)  # a missing key fails here, before any change
        rebuild, _ = IndexRebuild.objects.get_or_create(generation=generation)
        people = Person.objects.filter(erased_at__isnull=True).order_by("pk")
        total = people.count()
        self._say("start", generation=generation, people=total, done=rebuild.reindexed,
                  resumed_after=str(rebuild.last_person) if rebuild.last_person else None)
        batches = 0
        skipped: list[str] = []
        while not rebuild.finished_at:
            if max_batches and batches >= max_batches:
                self._say("stopped", generation=generation, done=rebuild.reindexed, people=total)
                return
            todo = people if rebuild.last_person is None else people.filter(pk__gt=rebuild.last_person)
            with transaction.atomic(), key_scope():
                batch = list(todo.prefetch_related("documents")[:batch_size])
                if batch:
                    passed = reindex_batch(batch)
                    skipped += passed
                    rebuild.last_person = batch[-1].pk
                    rebuild.reindexed += len(batch) - len(passed)
                    rebuild.save(update_fields=["last_person", "reindexed"])
                    events.emit("index.reindex", generation=generation, people=len(batch),
                                done=rebuild.reindexed, via="command", skipped=passed[:EVENT_IDS])
                else:
                    # Whoever was passed over (a data key that could not be unwrapped, in this
                    # run or an earlier one) is tried again; while anyone still is, the old
                    # entries stay, the re-index stays unfinished, and they are named.
                    skipped = self._retry(people, generation, batch_size)
                    if skipped:
                        break
                    removed, _ = PersonIndex.objects.exclude(generation=generation).delete()
                    rebuild.finished_at = timezone.now()
                    rebuild.save(update_fields=["finished_at"])
                    events.emit("index.reindex_finish", generation=generation,
                                people=rebuild.reindexed, old_entries_removed=removed, via="command")
            batches += 1
            if batch:
                self._say("batch", generation=generation, done=rebuild.reindexed, people=total)
        if skipped:
            events.emit("index.reindex_skipped", generation=generation, skipped=len(skipped),
                        people=skipped[:EVENT_IDS], via="command")
            raise CommandError(
                f"{len(skipped)} people could not be re-indexed: their data keys cannot be "
                "unwrapped (person ids, see README, 'Keys'). The re-index stays unfinished and "
                f"their old entries stay; run it again once the key file is put right: "
                f"{', '.join(skipped)}")
        old = [g for g in keyring.provider().index_generations() if g != generation]
        self._say("finished", generation=generation, done=rebuild.reindexed, people=total,
                  retire=old)

    def _retry(self, people: QuerySet[Person], generation: int, batch_size: int) -> list[str]:
        """Re-index the live people with no entry of `generation` (passed over before);
        the ids of those whose keys still cannot be unwrapped."""
        indexed = PersonIndex.objects.filter(generation=generation).values("person_id")
        missing = people.exclude(pk__in=indexed)
        left: list[str] = []
        after = None
        while True:
            page = missing.filter(pk__gt=after) if after is not None else missing
            batch = list(page.prefetch_related("documents")[:batch_size])
            if not batch:
                return left
            left += reindex_batch(batch)
            after = batch[-1].pk

    def _say(self, stage: str, **data: Any) -> None:
        if self.as_json:
            self.stdout.write(json.dumps({"stage": stage, **data}))
            return
        g = data["generation"]
        if stage == "start":
            self.stdout.write(f"Re-indexing {data['people']} people with index key generation "
                              f"{g} ({data['done']} done before).")
        elif stage == "batch":
            self.stdout.write(f"  {data['done']}/{data['people']}")
        elif stage == "stopped":
            self.stdout.write(f"Stopped after {data['done']} people; run again to go on.")
        else:
            retire = data["retire"]
            hint = (f" Generations {retire} can now be retired: 'manage.py init_keys "
                    "--retire-index-keys'." if retire else "")
            self.stdout.write(self.style.SUCCESS(
                f"Every person is indexed with generation {g}.{hint}"))


def reindex_batch(people: list[Person]) -> list[str]:
    """Index these people (documents prefetched, keys in scope) with the active generation,
    and renew their keyed fingerprint, which the index key also keys: it names the document
    given first at registration (the oldest in the documents' history). A person whose data
    key cannot be unwrapped is passed over, entries untouched: their ids are returned."""
    from cases.services import _index_person

    # Each person's key is tried below; the unreadable ones are passed over.
    with contextlib.suppress(*UNREADABLE):
        datakeys.preload([p.pk for p in people])
    added = dict(IdentityDocument.history.filter(
        person_id__in=[p.pk for p in people], history_type="+").values_list("id", "history_date"))
    passed: list[str] = []
    for person in people:
        try:
            datakeys.key_for_subject(person.pk)
        except UNREADABLE:
            passed.append(str(person.pk))
            continue
        _index_person(person)
        documents = sorted(person.documents.all(), key=lambda d: (added.get(d.pk) is None,
                                                                  added.get(d.pk), str(d.pk)))
        fingerprint = blind.fingerprint(
            given_names=person.given_names or "", family_names=person.family_names or "",
            date_of_birth=person.date_of_birth, document=documents[0].number if documents else "")
        if fingerprint != person.fingerprint:
            Person.objects.filter(pk=person.pk).update(fingerprint=fingerprint)
    return passed
