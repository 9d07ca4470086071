"""Time the query shapes proposed in bench/README.md against the ones the code uses now.

    .venv/bin/python bench/alternatives.py

Read-only: the proposals are written here, next to the current selectors, only to measure
them; writes and the trial index run inside transactions that are rolled back. Each line
gives the median wall time of evaluating the query (--reps times) and checks that the
proposal returns the same rows as the current code.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import common

common.setup_django()

from django.db import connection, transaction  # noqa: E402
from django.db.models import Count, Exists, OuterRef, Q  # noqa: E402

from cases import access, selectors  # noqa: E402
from cases.crypto import blind, datakeys  # noqa: E402
from cases.models import (  # noqa: E402
    Case,
    CaseGroupObjectPermission,
    CaseParticipant,
    CaseUserObjectPermission,
    DataKey,
    IdentityDocument,
    Person,
    PersonIndex,
    Role,
    User,
)

RESULTS: list[dict] = []


def timed(label: str, fn, reps: int) -> float:
    fn()
    times = []
    for _ in range(reps):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    ms = statistics.median(times) * 1000
    RESULTS.append({"name": label, "median_ms": round(ms, 2), "reps": reps})
    print(f"  {label:<66} {ms:9.2f} ms")
    return ms


# Proposed shapes ------------------------------------------------------------------------

def people_scope_exists(user: User):
    """visible_people with correlated EXISTS instead of IN / NOT IN over whole tables."""
    in_cases = Exists(CaseParticipant.objects.filter(
        person=OuterRef("pk"), case__in=selectors.visible_cases(user).values("pk")))
    scope = Q(in_cases)
    offices = access.offices_where(user, *access.CASE_ROLES)
    if offices:
        scope |= Q(office__in=offices) & ~Exists(
            CaseParticipant.objects.filter(person=OuterRef("pk")))
    return Person.objects.filter(scope)


def cases_scope_inlined(user: User):
    """visible_cases with the (few) granted case ids read first and inlined."""
    supervised = access.offices_where(user, Role.SUPERVISOR)
    worked = access.offices_where(user, Role.CASEWORKER) - supervised
    granted = set(CaseUserObjectPermission.objects.filter(
        user=user, permission__codename="view_case").values_list("content_object_id", flat=True))
    granted |= set(CaseGroupObjectPermission.objects.filter(
        group__user=user, permission__codename="view_case").exclude(
        group__name__in=Role.values).values_list("content_object_id", flat=True))
    scope = Q(pk__in=granted)
    if supervised:
        scope |= Q(office__in=supervised)
    if worked:
        scope |= Q(office__in=worked) & (Q(assigned_to=user) | Q(assigned_to__isnull=True))
    return Case.objects.filter(scope)


# Comparisons ----------------------------------------------------------------------------

def compare_people(users: dict, reps: int) -> None:
    print("People scope: current visible_people vs correlated EXISTS")
    docs = IdentityDocument.objects.filter(person__office__code=common.BIG_OFFICE).order_by("pk")
    people = Person.objects.filter(office__code=common.BIG_OFFICE).order_by("pk")
    with datakeys.key_scope():  # the 500th document and 777th person (the last of a small bench)
        doc = docs[min(500, docs.count() - 1)].number
    pid = people.values_list("pk", flat=True)[min(777, people.count() - 1)]
    filters = {
        "document number": Q(pk__in=PersonIndex.objects.filter(
            kind="doc", value=blind.bidx("doc", blind.normalize_document(doc))
        ).values("person_id")),
        "'García'": Q(pk__in=PersonIndex.objects.filter(
            kind="name", value=blind.bidx("name", "garcia")).values("person_id")),
        "get_person (one id)": Q(pk=pid),
    }
    for role, user in users.items():
        for label, f in filters.items():
            cur = selectors.visible_people(user).filter(erased_at__isnull=True).filter(f)
            new = people_scope_exists(user).filter(erased_at__isnull=True).filter(f)
            same = set(cur.values_list("pk", flat=True)) == set(new.values_list("pk", flat=True))
            timed(f"{role}: {label}, current", lambda q=cur: list(
                q.order_by("-created_at")[:201]), reps)
            timed(f"{role}: {label}, EXISTS (same rows: {same})", lambda q=new: list(
                q.order_by("-created_at")[:201]), reps)
        cur = selectors.visible_people(user).filter(erased_at__isnull=True)
        new = people_scope_exists(user).filter(erased_at__isnull=True)
        timed(f"{role}: newest 20 people (search page), current",
              lambda q=cur: list(q.order_by("-created_at")[:20]), max(3, reps // 3))
        timed(f"{role}: newest 20 people (search page), EXISTS",
              lambda q=new: list(q.order_by("-created_at")[:20]), max(3, reps // 3))


def work_mem_cliff(users: dict) -> None:
    """What happens once the scope's hashed subplans no longer fit in work_mem.

    At 100k people the set of all participants hashes into 1-2 MB, under PostgreSQL's
    default work_mem of 4 MB. With a few hundred thousand people it no longer fits and the
    planner re-scans the subquery for every candidate row instead. Lowering work_mem here
    shows now what the larger database will do.
    """
    print("People scope when its hash tables do not fit in work_mem ('García', supervisor)")
    user = users["supervisor"]
    f = Q(pk__in=PersonIndex.objects.filter(
        kind="name", value=blind.bidx("name", "garcia")).values("person_id"))
    for wm in ("4MB", "1MB"):
        for label, qs in (("current", selectors.visible_people(user)),
                          ("EXISTS", people_scope_exists(user))):
            def run(qs=qs, wm=wm) -> None:
                with transaction.atomic(), connection.cursor() as cur:
                    cur.execute(f"SET LOCAL work_mem = '{wm}'")
                    cur.execute("SET LOCAL statement_timeout = '120s'")
                    list(qs.filter(erased_at__isnull=True).filter(f)
                         .order_by("-created_at")[:201])

            timed(f"work_mem {wm}: {label}", run, 1)


def compare_cases(users: dict, reps: int) -> None:
    print("Case scope: newest 50 and count")
    for role, user in users.items():
        cur = selectors.visible_cases(user)
        new = cases_scope_inlined(user)
        same = set(cur.values_list("pk", flat=True)) == set(new.values_list("pk", flat=True))
        timed(f"{role}: newest 50, current (joins principal)",
              lambda q=cur: list(q.order_by("-opened_at")[:50]), reps)
        timed(f"{role}: newest 50, current without select_related('principal')",
              lambda q=cur: list(q.select_related(None).select_related(
                  "office", "assigned_to").order_by("-opened_at")[:50]), reps)
        timed(f"{role}: newest 50, grants inlined, no principal join (same: {same})",
              lambda q=new: list(q.select_related("office", "assigned_to")
                                 .order_by("-opened_at")[:50]), reps)
        timed(f"{role}: count, current", lambda q=cur: q.count(), reps)
        timed(f"{role}: count, grants inlined", lambda q=new: q.count(), reps)
    with transaction.atomic():
        with connection.cursor() as cur:
            cur.execute("CREATE INDEX bench_trial_office_opened ON cases_case (office_id, opened_at)")
            cur.execute("ANALYZE cases_case")
        for role, user in users.items():
            new = cases_scope_inlined(user)
            timed(f"{role}: newest 50, grants inlined + index (office, opened_at)",
                  lambda q=new: list(q.select_related("office", "assigned_to")
                                     .order_by("-opened_at")[:50]), reps)
        transaction.set_rollback(True)


def compare_dashboard(users: dict, reps: int) -> None:
    print("Dashboard: principal names of 15 cases, key per case vs one preload")
    user = users["caseworker"]

    def lazy() -> None:
        with datakeys.key_scope():
            for c in selectors.my_cases(user)[:15]:
                str(c.principal)

    def preloaded() -> None:
        with datakeys.key_scope():
            cases = list(selectors.my_cases(user)[:15])
            datakeys.preload([c.principal_id for c in cases])
            for c in cases:
                str(c.principal)

    timed("caseworker: my cases + names, one DataKey query per case (now)", lazy, reps)
    timed("caseworker: my cases + names, datakeys.preload", preloaded, reps)


def compare_rotation_writes(reps: int) -> None:
    print("Rotation: writing 500 re-wrapped keys (rolled back)")
    rows_all = list(DataKey.objects.order_by("pk")[:500])

    def run(write) -> None:
        with transaction.atomic():
            write(rows_all)
            transaction.set_rollback(True)

    def bulk_update(rows) -> None:
        DataKey.objects.bulk_update(rows, ["wrapped", "kek_id", "rotated_at"])

    def executemany(rows) -> None:
        with connection.cursor() as cur:
            cur.executemany(
                "UPDATE cases_datakey SET wrapped = %s, kek_id = %s, rotated_at = now() "
                "WHERE id = %s", [(bytes(r.wrapped), r.kek_id, r.id) for r in rows])

    def values_join(rows) -> None:
        placeholders = ", ".join(["(%s::uuid, %s::bytea, %s)"] * len(rows))
        params = [v for r in rows for v in (r.id, bytes(r.wrapped), r.kek_id)]
        with connection.cursor() as cur:
            # Only "%s" placeholders are joined into the text; the values go in params.
            sql = ("UPDATE cases_datakey AS d SET wrapped = v.w, kek_id = v.k, "  # noqa: S608
                   "rotated_at = now() FROM (VALUES " + placeholders + ") AS v(id, w, k) "
                   "WHERE d.id = v.id")
            cur.execute(sql, params)

    n = max(3, reps // 3)
    timed("500 keys, bulk_update (now)", lambda: run(bulk_update), n)
    timed("500 keys, executemany UPDATE", lambda: run(executemany), n)
    timed("500 keys, one UPDATE ... FROM (VALUES ...)", lambda: run(values_join), n)
    print("Rotation: the SELECT of the last batch (every key before it already re-wrapped)")
    current = DataKey.objects.values_list("kek_id", flat=True).first()

    def last_batch_select() -> None:
        with transaction.atomic():
            list(DataKey.objects.select_for_update(skip_locked=True)
                 .filter(destroyed_at__isnull=True).exclude(kek_id=current)
                 .order_by("pk")[:500])

    timed("exclude(kek_id=active).order_by('pk')[:500], nothing left", last_batch_select, n)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--reps", type=int, default=9)
    ap.add_argument("--skip-cliff", action="store_true",
                    help="skip the low-work_mem runs (about a minute at 100k people)")
    args = ap.parse_args()
    office = common.BIG_OFFICE.lower()
    sup = User.objects.get(username=f"bench-sup-{office}-1")
    top = (Case.objects.filter(office__code=common.BIG_OFFICE, assigned_to__isnull=False)
           .values("assigned_to").annotate(n=Count("pk")).order_by("-n").first())
    cw = User.objects.get(pk=top["assigned_to"])  # the same caseworker as run.py
    users = {"caseworker": cw, "supervisor": sup}
    compare_people(users, args.reps)
    if not args.skip_cliff:
        work_mem_cliff(users)
    compare_cases(users, args.reps)
    compare_dashboard(users, args.reps)
    compare_rotation_writes(args.reps)
    common.write_json(common.RESULTS_DIR / "alternatives.json", {"results": RESULTS})
    print(f"Wrote {common.RESULTS_DIR / 'alternatives.json'}")


if __name__ == "__main__":
    main()
