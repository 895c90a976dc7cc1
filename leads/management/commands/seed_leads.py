"""python manage.py seed_leads --count N: realistic fake leads, to try the product at size.

Names, emails in mixed case, phones in mixed formats (stored normalized as intake stores them),
sources, lists, one Lead Capture activity each, and some Failed leads API injection rows. On
PostgreSQL the rows go in by COPY (psycopg 3); for a big load into a small table the lead and
activity indexes are dropped and rebuilt after the copy, in the same transaction (the tables are
locked meanwhile). On SQLite: batched bulk_create.
"""

from __future__ import annotations

import json
import random
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.management.base import BaseCommand, CommandParser
from django.db import DatabaseError, connection, transaction
from faker import Faker

from injectionlogs.models import FailedInjection
from leads.models import Activity, ActivityType, CustomField, Lead
from leads.vocabulary import Family, ReasonCode
from settings_global.services import API_USER_DISPLAY_NAME, API_USERS_GROUP

# The lead's list and the list's campaign, through the foreign keys: leads imports nothing
# from the dialer app.
List = Lead._meta.get_field("list").related_model
Campaign = List._meta.get_field("campaign").related_model

VENDORS = ["vendor_leadgen", "vendor_solar", "vendor_webform", "vendor_insure"]
SOURCES = ["Google Ads", "Facebook", "Website", "Referral", "Partner", "Email Campaign", "Expo"]
STATUSES = ["New"] * 6 + ["Contacted", "Qualified", "Unqualified", "Callback"]
ENDPOINTS = {
    Family.LEADSQUARED: "Lead.Capture",
    Family.CONVOSO: "/v1/leads/insert",
    Family.ANINJA: "/api/v1/contactform/",
}
REASONS = [
    (ReasonCode.DUPLICATE_PHONE, "Duplicate phone number in list"),
    (ReasonCode.INVALID_EMAIL, "Invalid email: {email}"),
    (ReasonCode.INVALID_PHONE, "Invalid phone number: {phone}"),
    (ReasonCode.MISSING_CONTACT_NAME, "Missing required fields (contact_name)"),
    (ReasonCode.DNC, "Phone number is on the Do Not Call list (account)"),
]
# Past this many rows, into a table holding fewer, indexes are rebuilt rather than kept up.
REBUILD_AT = 50_000
POOL = 3000  # distinct Faker values per kind: Faker per row would dominate the load time


def _fmt_phone(digits: str, style: int) -> str:
    a, b, c = digits[:3], digits[3:6], digits[6:]
    return [
        f"({a}) {b}-{c}",
        f"{a}-{b}-{c}",
        f"+1 {a} {b} {c}",
        digits,
        f"1{digits}",
        f"{a}.{b}.{c}",
    ][style]


def _copy_text(value: Any) -> str:
    """A value in COPY's text format."""
    if value is None:
        return r"\N"
    if isinstance(value, bool):
        return "t" if value else "f"
    if isinstance(value, dict | list):
        value = json.dumps(value)
    text = str(value)
    if "\\" in text or "\t" in text or "\n" in text or "\r" in text:
        text = (
            text.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n").replace("\r", "")
        )
    return text


class Command(BaseCommand):
    help = "Load N realistic fake leads (with activities and some failed-injection rows)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--count", type=int, default=10_000)
        parser.add_argument("--seed", type=int, default=None, help="random seed (repeatable)")
        parser.add_argument(
            "--failed-share",
            type=float,
            default=0.02,
            help="failed-injection rows per lead (default 0.02)",
        )

    def handle(self, *args: Any, count: int, seed: int | None, failed_share: float, **kw: Any):
        rng = random.Random(seed)
        faker = Faker("en_US")
        faker.seed_instance(seed if seed is not None else rng.randrange(2**32))
        started = self.lap_at = time.monotonic()
        self.pools = {
            "first": [faker.first_name() for _ in range(POOL)],
            "last": [faker.last_name() for _ in range(POOL)],
            "company": [faker.company() for _ in range(POOL)],
            "city": [(faker.city(), faker.state_abbr(), faker.zipcode()) for _ in range(POOL)],
            "street": [faker.street_address() for _ in range(POOL)],
            "job": [faker.job()[:255] for _ in range(POOL)],
            "domain": [faker.free_email_domain() for _ in range(20)]
            + [faker.domain_name() for _ in range(200)],
        }
        self.rng = rng
        # Milliseconds since the epoch (48 bits), as a UUIDv7 starts; one tick per row.
        self.id_base, self.id_seq = int(time.time() * 1000), 0
        users, lists = self._fixtures()
        self._register_custom_fields()
        n_failed = int(count * failed_share)
        if connection.vendor == "postgresql":
            self._load_postgresql(count, n_failed, users, lists)
        else:
            self._load_orm(count, n_failed, users, lists)
        elapsed = time.monotonic() - started
        self.stdout.write(
            f"seeded {count} leads, {count} activities, {n_failed} failed-injection rows "
            f"in {elapsed:.1f} s ({count / max(elapsed, 1e-9):,.0f} leads/s)"
        )

    # -- fixtures: the few users, campaigns and lists the leads point at ----------------------

    def _fixtures(self) -> tuple[list[Any], list[Any]]:
        User = get_user_model()
        group, _ = Group.objects.get_or_create(name=API_USERS_GROUP)
        users = []
        for name in VENDORS:
            user, _ = User.objects.get_or_create(
                username=name,
                defaults={"first_name": API_USER_DISPLAY_NAME, "last_name": f"({name})"},
            )
            user.groups.add(group)
            users.append(user)
        lists = []
        for cname in ["Solar Q3", "Insurance", "Home Services"]:
            campaign = Campaign.objects.filter(name=cname).first() or Campaign.objects.create(
                name=cname
            )
            for n in (1, 2):
                lname = f"{cname} list {n}"
                found = List.objects.filter(name=lname, campaign=campaign).first()
                lists.append(found or List.objects.create(name=lname, campaign=campaign))
        return users, lists

    def _register_custom_fields(self) -> None:
        CustomField.objects.bulk_create(
            [
                CustomField(name="mx_City"),
                CustomField(name="mx_Budget", data_type="Number"),
                CustomField(name="mx_Roof_Type"),
            ],
            ignore_conflicts=True,
        )

    # -- rows --------------------------------------------------------------------------------

    def _lead(self, i: int, now: datetime, users: list[Any], lists: list[Any]) -> dict[str, Any]:
        rng, pools = self.rng, self.pools
        first, last = rng.choice(pools["first"]), rng.choice(pools["last"])
        user = rng.choice(users)
        city, state, zipcode = rng.choice(pools["city"])
        digits = f"{rng.randint(201, 989)}{rng.randint(200, 999)}{rng.randint(0, 9999):04d}"
        email = f"{first}.{last}{i}@{rng.choice(pools['domain'])}"
        if rng.random() < 0.5:
            email = email.lower()
        source = rng.choice(SOURCES)
        created = now - timedelta(seconds=rng.randint(0, 365 * 86400))
        the_list = rng.choice(lists) if rng.random() < 0.6 else None
        custom = {"mx_City": city}
        if rng.random() < 0.3:
            custom["mx_Budget"] = rng.randint(5, 200) * 1000
        return {
            "id": self._ordered_id(),
            "first_name": first,
            "last_name": last,
            "contact_name": f"{first} {last}",
            "email": email,
            "email_normalized": email.casefold(),
            "phone": _fmt_phone(digits, rng.randrange(6)),
            # What leads.normalize.normalize_phone makes of these US numbers.
            "phone_normalized": f"+1{digits}",
            "phone_code": "1",
            "company": rng.choice(pools["company"]),
            "job_title": rng.choice(pools["job"]),
            "address1": rng.choice(pools["street"]),
            "city": city,
            "state": state,
            "postal_code": zipcode,
            "country": "United States",
            "source": source,
            "source_medium": rng.choice(["cpc", "organic", "social", "email", ""]),
            "source_campaign": f"{source} {created:%Y-%m}",
            "status": rng.choice(STATUSES),
            "created_by_id": user.pk,
            "list_id": the_list.pk if the_list else None,
            "custom_fields": custom,
            "custom_field_sets": {},
            "created_at": created,
            "updated_at": created,
        }

    def _ordered_id(self) -> uuid.UUID:
        """A version 7 UUID in load order: the primary key index grows at its right edge, not
        at random pages (random uuid4 keys make the copy write many times the WAL)."""
        self.id_seq += 1
        rand = self.rng.getrandbits(74)
        rand_a, rand_b = rand >> 62, rand & ((1 << 62) - 1)
        return uuid.UUID(
            int=(self.id_base + self.id_seq) << 80 | 7 << 76 | rand_a << 64 | 2 << 62 | rand_b
        )

    def _activity(self, lead: dict[str, Any]) -> dict[str, Any]:
        family = Family.LEADSQUARED if lead["list_id"] is None else Family.CONVOSO
        return {
            "id": self._ordered_id(),
            "lead_id": lead["id"],
            "type": ActivityType.LEAD_CAPTURE,
            "note": f"{family} {ENDPOINTS[family]}",
            "data": {
                "family": str(family),
                "endpoint": ENDPOINTS[family],
                "source": {"source": lead["source"], "source_medium": lead["source_medium"]},
            },
            "created_by_id": lead["created_by_id"],
            "created_at": lead["created_at"],
        }

    def _failure(self, lead: dict[str, Any]) -> dict[str, Any]:
        code, reason = self.rng.choice(REASONS)
        family = self.rng.choice(list(ENDPOINTS))
        return {
            "reason_code": code,
            "reason": reason.format(email=lead["email"], phone=lead["phone"]),
            "data": {
                "first_name": lead["first_name"],
                "last_name": lead["last_name"],
                "email": lead["email"],
                "phone_number": lead["phone"],
            },
            "query": {},
            "created_at": lead["created_at"],
            "family": family,
            "endpoint": ENDPOINTS[family],
            "api_user_id": lead["created_by_id"],
            "retry_count": 0,
        }

    # -- PostgreSQL: COPY -----------------------------------------------------------------------

    def _chunk(self, start: int, size: int, now: datetime, users: list, lists: list, every: int):
        leads = [self._lead(start + k, now, users, lists) for k in range(size)]
        failures = [
            self._failure(lead)
            for k, lead in enumerate(leads)
            if every and (start + k) % every == 0
        ]
        return (
            self.lead_copy.text(leads),
            self.activity_copy.text([self._activity(lead) for lead in leads]),
            failures,
        )

    def _load_postgresql(self, count: int, n_failed: int, users: list, lists: list) -> None:
        now = datetime.now(UTC)
        leads_table, activity_table = Lead._meta.db_table, Activity._meta.db_table
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute("SET LOCAL maintenance_work_mem = '256MB'")
            # The rows are made consistent here: skip the per-row foreign key triggers when
            # allowed (a superuser); else check them once, before the indexes are rebuilt.
            try:
                with transaction.atomic():
                    cursor.execute("SET LOCAL session_replication_role = replica")
            except DatabaseError:
                pass
            cursor.execute(
                f"SELECT count(*) FROM (SELECT 1 FROM {leads_table} LIMIT %s) t", [count]
            )
            rebuild = count >= REBUILD_AT and cursor.fetchone()[0] < count
            dropped: list[str] = []
            if rebuild:
                dropped = self._drop_indexes(cursor, [leads_table, activity_table])
            self.lead_copy = _Copier(cursor, Lead)
            self.activity_copy = _Copier(cursor, Activity)
            every = count // n_failed if n_failed else 0
            failures: list[dict[str, Any]] = []
            size = 20_000
            # Make the next chunk's text in a thread while this one is copied (one COPY at a
            # time on a connection: leads, then their activities).
            with ThreadPoolExecutor(max_workers=1) as pool:
                starts = list(range(0, count, size))
                ahead = pool.submit(self._chunk, 0, min(size, count), now, users, lists, every)
                for n in range(len(starts)):
                    lead_text, activity_text, chunk_failures = ahead.result()
                    if n + 1 < len(starts):
                        nxt = starts[n + 1]
                        ahead = pool.submit(
                            self._chunk, nxt, min(size, count - nxt), now, users, lists, every
                        )
                    self.lead_copy.write(lead_text)
                    self.activity_copy.write(activity_text)
                    failures += chunk_failures
            self.stdout.write(f"copied {count} leads and activities: {self._lap()}")
            failures.sort(key=lambda f: f["created_at"])  # ids in time order, as logged
            failed_copy = _Copier(cursor, FailedInjection, skip=("id",))
            failed_copy.write(failed_copy.text(failures))
            if dropped:
                cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
                self.stdout.write(f"rebuilding {len(dropped)} indexes...")
                for statement in dropped:
                    cursor.execute(statement)
                self.stdout.write(f"checked foreign keys, rebuilt indexes: {self._lap()}")
            for table in (leads_table, activity_table, FailedInjection._meta.db_table):
                cursor.execute(f"ANALYZE {table}")
            self.stdout.write(f"analyzed: {self._lap()}")

    def _lap(self) -> str:
        now = time.monotonic()
        lap, self.lap_at = now - self.lap_at, now
        return f"{lap:.1f} s"

    def _drop_indexes(self, cursor: Any, tables: list[str]) -> list[str]:
        """Drop the tables' plain indexes (not those behind a constraint); their definitions."""
        cursor.execute(
            """
            SELECT i.indexrelid::regclass::text, pg_get_indexdef(i.indexrelid)
            FROM pg_index i
            WHERE i.indrelid = ANY(%s::regclass[])
              AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = i.indexrelid)
            """,
            [tables],
        )
        found = cursor.fetchall()
        for name, _ in found:
            cursor.execute(f"DROP INDEX {name}")
        return [definition for _, definition in found]

    # -- SQLite (or any other database): the ORM, in batches ----------------------------------

    def _load_orm(self, count: int, n_failed: int, users: list, lists: list) -> None:
        now = datetime.now(UTC)
        failed_every = count // n_failed if n_failed else 0
        done = 0
        while done < count:
            size = min(2000, count - done)
            leads = [self._lead(done + k, now, users, lists) for k in range(size)]
            activities = [self._activity(lead) for lead in leads]
            failures = [
                self._failure(lead)
                for k, lead in enumerate(leads)
                if failed_every and (done + k) % failed_every == 0
            ]
            with transaction.atomic():
                Lead.objects.bulk_create([Lead(**row) for row in leads], batch_size=500)
                Activity.objects.bulk_create(
                    [Activity(**row) for row in activities], batch_size=500
                )
                FailedInjection.objects.bulk_create(
                    [FailedInjection(**row) for row in failures], batch_size=500
                )
                # auto_now(_add) stamped the time of the load: put back the spread-out times.
                objs = [Lead(id=row["id"], created_at=row["created_at"]) for row in leads]
                for obj in objs:
                    obj.updated_at = obj.created_at
                Lead.objects.bulk_update(objs, ["created_at", "updated_at"], batch_size=500)
                acts = [Activity(id=r["id"], created_at=r["created_at"]) for r in activities]
                Activity.objects.bulk_update(acts, ["created_at"], batch_size=500)
            done += size


class _Copier:
    """COPY rows into a model's table, every concrete column: the ones given, else the field's
    default (so that a column added later does not break the load)."""

    def __init__(self, cursor: Any, model: Any, skip: tuple[str, ...] = ()) -> None:
        fields = [f for f in model._meta.concrete_fields if f.column not in skip]
        self.defaults = {
            f.attname: _copy_text(f.get_default() if f.has_default() else (None if f.null else ""))
            for f in fields
        }
        self.attnames = [f.attname for f in fields]
        columns = ", ".join(connection.ops.quote_name(f.column) for f in fields)
        self.sql = f"COPY {model._meta.db_table} ({columns}) FROM STDIN"
        self.cursor = cursor

    def text(self, rows: list[dict[str, Any]]) -> str:
        defaults, names = self.defaults, self.attnames
        return "".join(
            "\t".join(_copy_text(row[n]) if n in row else defaults[n] for n in names) + "\n"
            for row in rows
        )

    def write(self, text: str) -> None:
        if text:
            with self.cursor.cursor.copy(self.sql) as copy:
                copy.write(text.encode())
