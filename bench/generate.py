"""Fill the bench database with synthetic offices, staff, people and cases.

    .venv/bin/python bench/generate.py --people 100000 --reset

Names come from Faker (es_MX, es, en) with a fixed seed, with a head of very common Spanish
names and surnames at realistic frequencies (María, José, Hernández, García ...) so that
searches meet the candidate counts they meet in a real registry. Every person gets a real
data key (random, wrapped by the active KEK of the bench key file), their encrypted fields
are sealed by the fields' own pre_save during bulk_create, and their blind-index entries
come from cases.crypto.blind.entries with the same inputs as services._index_person.
"""

from __future__ import annotations

import argparse
import datetime
import os
import random
import sys
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import common

common.setup_django()

from django.contrib.auth.hashers import make_password  # noqa: E402
from django.contrib.auth.models import Permission  # noqa: E402
from django.db import connection, transaction  # noqa: E402
from django.db.models import AutoField  # noqa: E402
from django.utils import timezone  # noqa: E402
from faker import Faker  # noqa: E402
from simple_history.utils import bulk_create_with_history  # noqa: E402

from cases import services  # noqa: E402
from cases.crypto import blind, datakeys, keyring  # noqa: E402
from cases.models import (  # noqa: E402
    Case,
    CaseParticipant,
    CaseUserObjectPermission,
    DataKey,
    IdentityDocument,
    Membership,
    Office,
    Person,
    PersonIndex,
    ReferenceCounter,
    Role,
    User,
)

LOCALES = {"es_MX": 0.60, "es": 0.25, "en_US": 0.15}

# Head of the distribution: share of all surnames / given names drawn from these.
COMMON_SURNAMES = {
    "Hernández": 3.4, "García": 2.6, "Martínez": 2.3, "López": 2.2, "González": 2.1,
    "Pérez": 1.6, "Rodríguez": 1.5, "Sánchez": 1.5, "Ramírez": 1.4, "Cruz": 1.0,
    "Flores": 1.0, "Gómez": 0.9,
}
COMMON_FEMALE = {"María": 6.0, "Guadalupe": 1.5, "Ana": 1.5, "Rosa": 1.0, "Juana": 1.0}
COMMON_MALE = {"José": 4.0, "Juan": 3.5, "Luis": 1.5, "Carlos": 1.2, "Jesús": 1.2}

NATIONALITIES = {"HN": 30, "SV": 12, "GT": 12, "VE": 10, "NI": 8, "HT": 8, "CU": 7, "CO": 5,
                 "EC": 4, "MX": 2, "BR": 1, "AF": 1}
STATES = {"registered": 18, "interview_scheduled": 15, "interviewed": 12, "assessment": 12,
          "review": 8, "decision": 5, "appeal": 5, "closed": 25}
NEEDS = ["unaccompanied_child", "separated_child", "torture_survivor", "violence_survivor",
         "woman_at_risk", "older_person", "disability", "medical_condition", "lgbtiq"]
HOUSEHOLD_SIZES = {1: 55, 2: 20, 3: 13, 4: 8, 5: 4}
INTAKE_ONLY = 0.04      # registered, no case yet
UNASSIGNED = 0.15       # open cases still in the office queue
TRAFFICKING = 0.15
SHARES = 300            # explicit cross-office view grants (guardian rows)
ADDRESS_POOL = 4000     # Faker street addresses per locale (and a quarter as many cities)
YEARS_BACK = 6


def _weighted(rng: random.Random, table: dict):
    return rng.choices(list(table), weights=list(table.values()))[0]


class NameMaker:
    """Names, addresses, phones and documents from Faker pools, drawn with our own RNG."""

    def __init__(self, seed: int, rng: random.Random) -> None:
        self.rng = rng
        self.fakers = {}
        self.pools = {}
        for i, loc in enumerate(LOCALES):
            f = Faker(loc)
            f.seed_instance(seed + i)
            self.fakers[loc] = f
            p = f.provider("faker.providers.person")
            self.pools[loc] = {
                "female": list(p.first_names_female),
                "male": list(p.first_names_male),
                "last": list(p.last_names),
            }
        self.locales = list(LOCALES)
        self.locale_weights = list(LOCALES.values())
        self.addresses: dict[str, tuple[list[str], list[str]]] = {}

    def locale(self) -> str:
        return self.rng.choices(self.locales, self.locale_weights)[0]

    def _given(self, loc: str, sex: str) -> str:
        rng, pool = self.rng, self.pools[loc]
        kind = "female" if sex == "female" else "male"
        if loc != "en_US":
            common_names = COMMON_FEMALE if kind == "female" else COMMON_MALE
            if rng.random() * 100 < sum(common_names.values()) * 2:
                first = _weighted(rng, common_names)
            else:
                first = rng.choice(pool[kind])
            if rng.random() < 0.4:  # compound given names: María José, Juan Carlos
                second = rng.choice(pool[kind])
                if second != first:
                    return f"{first} {second}"
            return first
        return rng.choice(pool[kind])

    def surname(self, loc: str) -> str:
        if loc != "en_US" and self.rng.random() * 100 < sum(COMMON_SURNAMES.values()):
            return _weighted(self.rng, COMMON_SURNAMES)
        return self.rng.choice(self.pools[loc]["last"])

    def person(self, loc: str, sex: str, family: str | None) -> tuple[str, str]:
        given = self._given(loc, sex)
        if family is not None:
            return given, family
        if loc == "en_US":
            return given, self.surname(loc)
        return given, f"{self.surname(loc)} {self.surname(loc)}"

    def alias(self, given: str, family: str) -> str:
        """A nickname or a respelling that sounds the same (what aliases look like)."""
        rng = self.rng
        first = given.split()[0]
        if rng.random() < 0.5:
            spelled = (family.split()[0].replace("z", "s").replace("v", "b")
                       .replace("ll", "y").replace("Ll", "Y"))
            return f"{first} {spelled}"
        return rng.choice(["La Güera", "El Flaco", "Chepe", "Lupita", "Toño", "Memo", "Pancho",
                           "Chayo", "Nena", "Beto", "Paco", "Chuy", "Lalo", "Moni"])

    def address(self, loc: str) -> str:
        """A street of the locale's pool and a city of its pool (Faker's address provider
        costs more per call than the rest of a person; pools keep 1M people affordable)."""
        if loc not in self.addresses:
            f = self.fakers[loc]
            self.addresses[loc] = ([f.street_address() for _ in range(ADDRESS_POOL)],
                                   [f.city() for _ in range(ADDRESS_POOL // 4)])
        streets, cities = self.addresses[loc]
        return f"{self.rng.choice(streets)}, {self.rng.choice(cities)}"

    def phone(self, country: str) -> str:
        prefix = {"MX": "+52 55", "CR": "+506", "GT": "+502", "BZ": "+501", "PA": "+507"}
        return f"{prefix.get(country, '+52')} {self.rng.randrange(10**7, 10**8)}"

    def email(self, given: str, family: str) -> str:
        user = blind.fold(f"{given.split()[0]}.{family.split()[0]}").replace(" ", ".")
        dom = self.rng.choice(["gmail.com", "hotmail.com", "yahoo.com", "outlook.com"])
        return f"{user}{self.rng.randrange(1, 999)}@{dom}"

    def document(self, nationality: str) -> tuple[str, str, str]:
        rng = self.rng
        r = rng.random()
        if r < 0.55:
            letters = "".join(rng.choices("ABCDEFGHJKLMNPRSTUVWXYZ", k=rng.choice([1, 2])))
            return "passport", f"{letters}{rng.randrange(10**6, 10**8)}", nationality
        if r < 0.90:
            if nationality == "HN":
                number = (f"{rng.randrange(101, 1899):04d}-{rng.randrange(1950, 2024)}-"
                          f"{rng.randrange(0, 99999):05d}")
            else:
                number = f"{rng.randrange(10**8, 10**10)}"
            return "national_id", number, nationality
        return "birth_certificate", f"{rng.randrange(10**5, 10**7)}", nationality


def _dob(rng: random.Random, today: datetime.date) -> datetime.date | None:
    if rng.random() < 0.05:
        return None
    age = rng.choice([rng.randrange(0, 18), rng.randrange(18, 40), rng.randrange(18, 40),
                      rng.randrange(40, 80)])
    return today - datetime.timedelta(days=age * 365 + rng.randrange(0, 365))


class Generator:
    def __init__(self, *, people: int, seed: int, batch: int, history: bool) -> None:
        self.total = people
        self.seed = seed
        self.batch = batch
        self.history = history
        self.rng = random.Random(seed)
        self.names = NameMaker(seed, self.rng)
        self.now = timezone.now()
        self.today = timezone.localdate()
        self.ref_counters: dict[tuple[int, int], int] = {}
        self.rows = dict.fromkeys(
            ["data_keys", "people", "identity_documents", "index_entries", "cases",
             "participants", "history_rows"], 0)
        self.t_build = 0.0
        self.t_insert = 0.0
        self.provider = keyring.provider()

    # Offices and staff -------------------------------------------------------------------

    def staff(self) -> None:
        services.ensure_role_groups()
        self.offices: list[Office] = []
        self.caseworkers: dict[int, list[User]] = {}
        password = make_password("bench-password-not-secret")
        users: list[User] = []
        plan: list[tuple[User, Office, str]] = []
        for code, name, country, city, _share, n_sup, n_cw in common.OFFICES:
            office = Office.objects.create(code=code, name=name, country=country, city=city)
            self.offices.append(office)
            slug = code.lower()
            for role, n in ((Role.SUPERVISOR, n_sup), (Role.CASEWORKER, n_cw)):
                for i in range(1, n + 1):
                    loc = "en_US" if country == "BZ" else "es_MX"
                    sex = self.rng.choice(["female", "male"])
                    first, last = self.names.person(loc, sex, None)
                    u = User(username=f"bench-{role[:3]}-{slug}-{i}", first_name=first,
                             last_name=last, password=password)
                    users.append(u)
                    plan.append((u, office, role))
        for office in self.offices[:2]:  # auditors of the two Mexican offices
            u = User(username=f"bench-aud-{office.code.lower()}", first_name="Auditoría",
                     last_name=office.city, password=password)
            users.append(u)
            plan.append((u, office, Role.AUDITOR))
        admin = User(username="bench-admin-mx-cdmx", first_name="Admin", last_name="CDMX",
                     password=password)
        users.append(admin)
        plan.append((admin, self.offices[0], Role.OFFICE_ADMIN))
        User.objects.bulk_create(users)
        Membership.objects.bulk_create(
            [Membership(user=u, office=o, role=r) for u, o, r in plan])
        groups = {r: services.role_group(r) for r in {r for _u, _o, r in plan}}
        User.groups.through.objects.bulk_create(
            [User.groups.through(user_id=u.pk, group_id=groups[r].pk) for u, _o, r in plan],
            ignore_conflicts=True)
        for u, o, r in plan:
            if r == Role.CASEWORKER:
                self.caseworkers.setdefault(o.pk, []).append(u)
        self.staff_count = len(users)
        self.office_weights = [o[4] for o in common.OFFICES]

    # People and cases --------------------------------------------------------------------

    def _reference(self, office: Office, year: int) -> str:
        key = (office.pk, year)
        n = self.ref_counters.get(key, 0) + 1
        self.ref_counters[key] = n
        return f"{office.code}-{year}-{n:06d}"

    def _household(self, out: dict) -> int:
        rng, nm = self.rng, self.names
        office = rng.choices(self.offices, self.office_weights)[0]
        staff = self.caseworkers[office.pk]
        size = _weighted(rng, HOUSEHOLD_SIZES)
        size = min(size, self.total - self.made)
        loc = nm.locale()
        nationality = _weighted(rng, NATIONALITIES)
        registered = self.now - datetime.timedelta(
            seconds=rng.randrange(0, YEARS_BACK * 365 * 86400))
        registrar = rng.choice(staff)
        family = None
        members: list[Person] = []
        for i in range(size):
            sex = rng.choices(["female", "male", "unknown"], [48, 50, 2])[0]
            given, fam = nm.person(loc, sex, family)
            if i == 0 and loc != "en_US":
                family = fam
            dob = _dob(rng, self.today)
            pid = uuid.uuid4()
            self._data_key(pid, out)
            p = Person(id=pid, office=office, registered_by=registrar, sex=sex,
                       birth_year=dob.year if dob else None, created_at=registered)
            p.given_names = given
            p.family_names = fam
            p.aliases = [nm.alias(given, fam)] if rng.random() < 0.15 else []
            p.date_of_birth = dob
            p.nationalities = [nationality]
            langs = ["es"] if loc != "en_US" else ["en"]
            if nationality == "HT":
                langs = ["fr", "ht"]
            p.languages = langs
            p.phone = nm.phone(office.country.code) if rng.random() < 0.7 else ""
            p.email = nm.email(given, fam) if rng.random() < 0.4 else ""
            p.address = nm.address(loc) if rng.random() < 0.85 else ""
            p.specific_needs = (sorted(rng.sample(NEEDS, rng.choice([1, 1, 2])))
                                if rng.random() < 0.2 else [])
            docs = []
            for _ in range(rng.choices([0, 1, 2], [10, 75, 15])[0]):
                dtype, number, country = nm.document(nationality)
                docs.append(IdentityDocument(person_id=pid, document_type=dtype, number=number,
                                             issuing_country=country))
            p.fingerprint = blind.fingerprint(
                given_names=given, family_names=fam, date_of_birth=dob,
                document=docs[0].number if docs else "")
            # The same inputs as services._index_person.
            entries = blind.entries(
                names=[p.given_names or "", p.family_names or "", *(p.aliases or [])],
                documents=[d.number or "" for d in docs],
                date_of_birth=p.date_of_birth,
            )
            generation = blind.active_generation()
            out["index"].extend((pid, generation, k, v, office.pk, registered)
                                for k, v in sorted(entries))
            out["people"].append(p)
            out["documents"].extend(docs)
            members.append(p)
        if rng.random() >= INTAKE_ONLY:
            principal = members[0]
            kind = "trafficking" if rng.random() < TRAFFICKING else "asylum"
            opened = min(self.now, registered + datetime.timedelta(minutes=rng.randrange(5, 600)))
            state = _weighted(rng, STATES)
            assigned = None if (state != "closed" and rng.random() < UNASSIGNED) else rng.choice(staff)
            case = Case(
                reference=self._reference(office, timezone.localtime(opened).year),
                office=office, kind=kind, state=state, principal=principal,
                opened_by=registrar, assigned_to=assigned, opened_at=opened,
                closed_at=(opened + datetime.timedelta(days=rng.randrange(30, 700))
                           if state == "closed" else None),
            )
            out["cases"].append(case)
            for j, m in enumerate(members if kind == "asylum" else members[:1]):
                out["participants"].append(CaseParticipant(
                    case_id=case.pk, person_id=m.pk, role="principal" if j == 0 else "family_member"))
        return len(members)

    def _data_key(self, subject_id: uuid.UUID, out: dict) -> tuple[uuid.UUID, bytes]:
        """What datakeys.create_data_key does, minus its one-row INSERT (bulk below)."""
        prov = self.provider
        dek = os.urandom(32)
        key_id = uuid.uuid4()
        wrapped = prov.wrap(kek_id=prov.active_kek_id, dek=dek,
                            aad=datakeys.wrap_aad(key_id, subject_id))
        out["keys"].append((key_id, subject_id, prov.active_kek_id, wrapped, self.now))
        # Fields' pre_save finds the key here instead of unwrapping it again.
        datakeys.remember(subject_id, key_id, dek)
        return key_id, dek

    def _insert(self, model, objs: list) -> None:
        """Model instances: COPY of what their fields' pre_save gives (sealing included);
        with --history, bulk_create_with_history instead."""
        if not objs:
            return
        if self.history:
            bulk_create_with_history(objs, model, batch_size=1000, default_date=self.now,
                                     default_change_reason="bench bulk load")
            self.rows["history_rows"] += len(objs)
            return
        fields = [f for f in model._meta.concrete_fields
                  if not (f.primary_key and isinstance(f, AutoField))]
        copy_rows(model._meta.db_table, [f.column for f in fields],
                  (tuple(f.get_db_prep_save(f.pre_save(o, True), connection) for f in fields)
                   for o in objs))

    def people_and_cases(self, progress: bool = True) -> None:
        self.made = 0
        started = time.perf_counter()
        while self.made < self.total:
            t0 = time.perf_counter()
            out = {k: [] for k in ("keys", "people", "documents", "index", "cases",
                                   "participants")}
            with datakeys.key_scope():
                n = 0
                while n < self.batch and self.made < self.total:
                    k = self._household(out)
                    n += k
                    self.made += k
                t1 = time.perf_counter()
                with transaction.atomic():
                    copy_rows(DataKey._meta.db_table, DATAKEY_COLUMNS, out["keys"])
                    self._insert(Person, out["people"])  # pre_save seals here
                    self._insert(IdentityDocument, out["documents"])
                    copy_rows(PersonIndex._meta.db_table, INDEX_COLUMNS, out["index"])
                    self._insert(Case, out["cases"])
                    self._insert(CaseParticipant, out["participants"])
            t2 = time.perf_counter()
            self.t_build += t1 - t0
            self.t_insert += t2 - t1
            for key, name in (("keys", "data_keys"), ("people", "people"),
                              ("documents", "identity_documents"), ("index", "index_entries"),
                              ("cases", "cases"), ("participants", "participants")):
                self.rows[name] += len(out[key])
            if progress:
                el = time.perf_counter() - started
                print(f"  {self.made:>9,} people  {self.rows['cases']:>8,} cases  "
                      f"{el:7.1f} s  {self.made / el:7,.0f} people/s", flush=True)
        ReferenceCounter.objects.bulk_create(
            [ReferenceCounter(office_id=o, year=y, last=n)
             for (o, y), n in self.ref_counters.items()])

    def shares(self) -> int:
        """Explicit view grants of single cases to caseworkers of other offices."""
        perm = Permission.objects.get(content_type__app_label="cases", codename="view_case")
        case_ids = list(Case.objects.order_by("?").values_list("pk", "office_id",
                                                                "principal_id")[:SHARES])
        rows = []
        for case_id, office_id, principal_id in case_ids:
            others = [u for o, us in self.caseworkers.items() if o != office_id for u in us]
            rows.append(CaseUserObjectPermission(permission=perm, user=self.rng.choice(others),
                                                 content_object_id=case_id,
                                                 principal_key=principal_id))
        CaseUserObjectPermission.objects.bulk_create(rows, ignore_conflicts=True)
        return len(rows)


DATAKEY_COLUMNS = ["id", "subject_id", "kek_id", "wrapped", "created_at"]
INDEX_COLUMNS = ["person_id", "generation", "kind", "value", "office_id", "created_at"]


def copy_rows(table: str, columns: list[str], rows) -> None:
    """COPY rows (tuples in the order of columns) into table."""
    cols = ", ".join(f'"{c}"' for c in columns)
    with connection.cursor() as cur, cur.cursor.copy(
            f'COPY "{table}" ({cols}) FROM STDIN') as copy:
        for row in rows:
            copy.write_row(row)


# Generated rows keep their own creation dates (spread over the past years).
AUTO_DATES = [(Person, "created_at"), (Case, "opened_at")]
# Loaded without their secondary indexes and constraints, which are built after.
BULK_TABLES = ["cases_datakey", "cases_person", "cases_identitydocument", "cases_personindex",
               "cases_case", "cases_caseparticipant"]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--people", type=int, default=100_000)
    ap.add_argument("--seed", type=int, default=20250101)
    ap.add_argument("--batch", type=int, default=5000, help="people per transaction")
    ap.add_argument("--reset", action="store_true",
                    help="drop the bench database first (it is created and migrated again)")
    ap.add_argument("--history", action="store_true",
                    help="write simple-history rows too (bulk_create_with_history)")
    args = ap.parse_args()

    t_prepare = common.prepare_database(reset=args.reset)
    if Person.objects.exists():
        sys.exit("The bench database already holds people: pass --reset to start over.")
    Faker.seed(args.seed)
    gen = Generator(people=args.people, seed=args.seed, batch=args.batch, history=args.history)
    print(f"Generating {args.people:,} people (seed {args.seed}) into "
          f"{connection.settings_dict['NAME']}; history rows: "
          f"{'bulk_create_with_history' if args.history else 'skipped for the bulk load'}")
    load_start = os.getloadavg()
    t0 = time.perf_counter()
    gen.staff()
    keep = common.ROOT / "var" / "bench" / f"{connection.settings_dict['NAME']}-indexes.sql"
    with common.keep_dates(*AUTO_DATES), common.without_secondary_indexes(
            *BULK_TABLES, keep_file=keep) as dropped:
        print(f"Dropped {len(dropped)} indexes and constraints for the load (rebuilt after; "
              f"their definitions meanwhile in {keep})", flush=True)
        gen.people_and_cases()
    print(f"Rebuilt them in {dropped.rebuild_seconds:.1f} s", flush=True)
    gen_rows = sum(v for k, v in gen.rows.items() if k != "history_rows")
    t_gen = time.perf_counter() - t0
    n_shares = gen.shares()
    t_analyze = common.vacuum_analyze()
    t_total = time.perf_counter() - t0
    with connection.cursor() as cur:
        cur.execute("SELECT pg_database_size(current_database())")
        db_bytes = cur.fetchone()[0]

    summary = {
        "database": connection.settings_dict["NAME"],
        "people": gen.rows["people"],
        "seed": args.seed,
        "offices": len(gen.offices),
        "staff": gen.staff_count,
        "history": ("bulk_create_with_history" if args.history
                    else "skipped (no simple-history rows for the bulk load)"),
        "rows": {**gen.rows, "case_shares": n_shares},
        "rows_total": gen_rows + gen.rows["history_rows"],
        "seconds_total": round(t_total, 2),
        "seconds_generate": round(t_gen, 2),
        "seconds_build_python": round(gen.t_build, 2),
        "seconds_insert_db": round(gen.t_insert, 2),
        "seconds_rebuild_indexes": round(dropped.rebuild_seconds, 2),
        "seconds_vacuum_analyze": round(t_analyze, 2),
        "seconds_create_and_migrate": round(t_prepare, 2),
        "indexes_dropped_for_the_load": list(dropped),
        "load_average_at_start": [round(x, 2) for x in load_start],
        "load_average_at_end": [round(x, 2) for x in os.getloadavg()],
        "cpus": os.cpu_count(),
        "rows_per_second": round((gen_rows + gen.rows["history_rows"]) / t_total),
        "people_per_second": round(gen.rows["people"] / t_total),
        "database_bytes": db_bytes,
        "generated_at": timezone.now().isoformat(),
    }
    common.write_json(common.RESULTS_DIR / "generate.json", summary)
    common.write_json(common.RESULTS_DIR / f"generate-{summary['database']}.json", summary)
    print()
    print(f"History rows:        {summary['history']}")
    for k, v in summary["rows"].items():
        print(f"  {k:<22}{v:>12,}")
    print(f"  {'total rows':<22}{summary['rows_total']:>12,}")
    print(f"Time:                {t_total:.1f} s: Python build and sealing {gen.t_build:.1f} s, "
          f"COPY {gen.t_insert:.1f} s, index rebuild {dropped.rebuild_seconds:.1f} s, "
          f"VACUUM ANALYZE {t_analyze:.1f} s (before: create/migrate {t_prepare:.1f} s)")
    print(f"Load average:        {summary['load_average_at_start']} at start, "
          f"{summary['load_average_at_end']} at end ({os.cpu_count()} CPUs)")
    print(f"Throughput:          {summary['rows_per_second']:,} rows/s, "
          f"{summary['people_per_second']:,} people/s")
    print(f"Database size:       {db_bytes / 2**20:,.0f} MiB")
    print(f"Summary written to   {common.RESULTS_DIR / 'generate.json'}")


if __name__ == "__main__":
    main()
