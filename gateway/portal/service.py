"""The developer portal's use cases: accounts and sessions, apps, sandbox controls and classrooms.

The portal is a second face of the sandbox API: it calls the same TenantService and ClientRegistry that
POST /sandbox/v1/tenants and RFC 7591 registration call, so every rule is the same whichever door is used.
Form problems come back as `FormErrors` (field → message) and nothing is saved.
"""

from __future__ import annotations

import contextlib
import csv
import hashlib
import hmac
import io
import json
import os
import re
import secrets
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from joserfc.jwk import ECKey
from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError

from gateway.models import OAuthClient
from gateway.oauth.clients import ClientRegistry, InvalidClientMetadata
from gateway.portal.models import Classroom, ClassroomTeam, DeveloperAccount, PortalSession
from gateway.sandbox.service import TenantService, hash_token
from openbank_kit.clock import wall_clock
from openbank_kit.db import Database
from openbank_kit.errors import Conflict, OBIEError
from openbank_kit.ids import new_id
from openbank_kit.tenancy import TENANT_NAME
from sandbox_data.model import add_months

PASSWORD_MIN_CHARS = 10
PASSWORD_MAX_CHARS = 200
EMAIL = re.compile(r"^[^@\s]{1,64}@[^@\s]+\.[^@\s]{2,}$")
SESSION_TTL = timedelta(hours=8)
SCRYPT = {"n": 2**14, "r": 8, "p": 1, "dklen": 32}  # ~16 MiB and a few tens of ms per hash
CLASSROOM_MAX_TEAMS = 100
CLASSROOM_MAX_CSV_BYTES = 64 * 1024
TEAM_NAME = re.compile(r"^\w[\w .'\-]{0,39}$")  # letters of any script, digits, spaces, . ' -
CLASSROOM_THREADS_MAX = (
    4  # tenants provisioned at once on PostgreSQL (each creation already loads services in parallel)
)


def classroom_threads(database_url: str | None) -> int:
    """SQLite serialises writers, so more threads only wait on its lock; PostgreSQL overlaps up to the cores."""
    if not database_url or database_url.startswith("sqlite"):
        return 1
    return max(1, min(CLASSROOM_THREADS_MAX, os.cpu_count() or 1))


CLASSROOM_REDIRECT_URI = "http://127.0.0.1:8080/callback"
MAX_ADVANCE_DAYS = 3660


class FormErrors(Exception):
    """Field-level problems of one form submission; `""` holds a message about the form as a whole."""

    def __init__(self, errors: dict[str, str]):
        super().__init__("; ".join(f"{k}: {v}" for k, v in errors.items()))
        self.errors = errors


def hash_password(password: str, salt: bytes) -> str:
    return hashlib.scrypt(password.encode(), salt=salt, maxmem=64 * 1024 * 1024, **SCRYPT).hex()


def _new_account(email: str, password: str, tenant_id: str, initial_access_token: str) -> DeveloperAccount:
    """A developer account (not yet stored) with its own salt and the password's scrypt hash."""
    salt = secrets.token_bytes(16)
    return DeveloperAccount(
        developer_id=new_id("dev"), email=email, password_scrypt=hash_password(password, salt),
        password_salt=salt.hex(), tenant_id=tenant_id, initial_access_token=initial_access_token,
        created_at=wall_clock(),
    )  # fmt: skip


def ensure_developer_account(
    db: Database, *, tenant_id: str, email: str, password: str, initial_access_token: str
) -> DeveloperAccount | None:
    """The developer account owning `tenant_id`, made with `email` and `password` when the tenant has none yet
    (`openbank up` gives the demo tenant its documented login this way). Idempotent: an existing account keeps its
    email and password, only its copy of the initial access token is brought up to date (the CLI replaces a lost
    token). None: the tenant has no account and `email` already belongs to another tenant's."""
    email = email.strip().lower()
    assert (
        EMAIL.match(email) and PASSWORD_MIN_CHARS <= len(password) <= PASSWORD_MAX_CHARS
    )  # the sign-up rules
    for _attempt in range(2):
        with db.write_session() as session:
            account = session.scalar(select(DeveloperAccount).where(DeveloperAccount.tenant_id == tenant_id))
            if account is None:
                if (
                    session.scalar(select(DeveloperAccount).where(DeveloperAccount.email == email))
                    is not None
                ):
                    return None
                account = _new_account(email, password, tenant_id, initial_access_token)
            elif account.initial_access_token == initial_access_token:
                session.expunge(account)
                return account
            account.initial_access_token = initial_access_token
            session.add(account)
            try:
                session.commit()
            except IntegrityError:
                # A concurrent sign-up took the email or the tenant's account first: the next pass reads it.
                session.rollback()
                continue
            session.refresh(account)
            session.expunge(account)
            return account
    return None


@dataclass(frozen=True)
class SignedIn:
    session_secret: str
    session: PortalSession
    developer: DeveloperAccount


@dataclass(frozen=True)
class AppCredentials:
    """What is shown once after creating or rotating an app; the portal keeps none of the secret parts."""

    client_id: str
    client_secret: str | None = None
    private_jwk: dict | None = None
    private_pem: str | None = None


@dataclass
class ClassroomResult:
    classroom: Classroom
    teams: list[ClassroomTeam] = field(default_factory=list)


def generate_key_pair() -> tuple[dict, dict, str]:
    """A P-256 signing key for private_key_jwt: (public JWK, private JWK, private PEM)."""
    key = ECKey.generate_key("P-256", private=True)
    kid = key.thumbprint()
    public = {**key.as_dict(private=False), "kid": kid, "use": "sig", "alg": "ES256"}
    private = {**key.as_dict(private=True), "kid": kid, "use": "sig", "alg": "ES256"}
    return public, private, key.as_pem(private=True).decode()


def parse_jwks(text: str) -> dict:
    """A pasted or uploaded JWK Set (a single JWK is accepted and wrapped)."""
    try:
        value = json.loads(text)
    except ValueError as exc:
        raise FormErrors({"jwks": f"not JSON: {exc}"}) from None
    if isinstance(value, dict) and "kty" in value:
        value = {"keys": [value]}
    if not isinstance(value, dict):
        raise FormErrors({"jwks": 'a JWK Set is a JSON object {"keys": [...]}'})
    return value


def parse_team_names(csv_bytes: bytes | None, count: str | None) -> list[str]:
    """Team names from an uploaded CSV (first column, optional `team` header) or a number of teams."""
    if csv_bytes:
        if len(csv_bytes) > CLASSROOM_MAX_CSV_BYTES:
            raise FormErrors({"teams_csv": f"the file is larger than {CLASSROOM_MAX_CSV_BYTES // 1024} KiB"})
        try:
            text = csv_bytes.decode("utf-8-sig")
        except UnicodeDecodeError:
            raise FormErrors({"teams_csv": "the file is not UTF-8 text"}) from None
        try:
            rows = [row for row in csv.reader(io.StringIO(text)) if row and any(c.strip() for c in row)]
        except csv.Error as exc:
            raise FormErrors({"teams_csv": f"not a CSV file: {exc}"}) from None
        names = [row[0].strip() for row in rows]
        if names and names[0].lower() in ("team", "team name", "name", "队名", "团队"):
            names = names[1:]
        if not names:
            raise FormErrors({"teams_csv": "the file holds no team names"})
        if len(names) > CLASSROOM_MAX_TEAMS:
            raise FormErrors({"teams_csv": f"{len(names)} teams: at most {CLASSROOM_MAX_TEAMS}"})
        bad = [n for n in names if not TEAM_NAME.match(n)]
        if bad:
            raise FormErrors(
                {"teams_csv": "bad team names (1-40 letters, digits, spaces, . ' -): " + ", ".join(bad[:5])}
            )
        seen: set[str] = set()
        duplicates = [n for n in names if n.casefold() in seen or seen.add(n.casefold())]
        if duplicates:
            raise FormErrors({"teams_csv": "team names appear twice: " + ", ".join(duplicates[:5])})
        return names
    if count and count.strip():
        if not count.strip().isdigit() or not 1 <= int(count) <= CLASSROOM_MAX_TEAMS:
            raise FormErrors({"team_count": f"a number from 1 to {CLASSROOM_MAX_TEAMS}"})
        return [f"Team {number:02d}" for number in range(1, int(count) + 1)]
    raise FormErrors({"teams_csv": "upload a CSV of team names or give a number of teams"})


class PortalService:
    def __init__(self, db: Database, tenants: TenantService, clients: ClientRegistry, open_signup: bool,
                 classroom_threads: int = 1):  # fmt: skip
        self.db, self.tenants, self.clients, self.open_signup = db, tenants, clients, open_signup
        self.classroom_threads = classroom_threads

    # --- accounts and sessions ------------------------------------------------------------------------
    def sign_up(self, email: str, password: str, team: str) -> SignedIn:
        """A developer account and its tenant (the same creation as POST /sandbox/v1/tenants), then a session."""
        email = email.strip().lower()
        team = team.strip()
        errors = {}
        if not EMAIL.match(email) or len(email) > 254:
            errors["email"] = "email_invalid"
        if not PASSWORD_MIN_CHARS <= len(password) <= PASSWORD_MAX_CHARS:
            errors["password"] = "password_length"
        if not TENANT_NAME.match(team):
            errors["team"] = "team_name"
        if errors:
            raise FormErrors(errors)
        with self.db.read_session() as session:
            if session.scalar(select(DeveloperAccount).where(DeveloperAccount.email == email)) is not None:
                raise FormErrors({"email": "email_taken"})
        try:
            created = self.tenants.create(team)
        except Conflict:
            raise FormErrors({"team": "team_taken"}) from None
        account = _new_account(email, password, created.tenant_id, created.initial_access_token)
        try:
            with self.db.write_session() as session:
                session.add(account)
                session.commit()
                session.refresh(account)
                session.expunge(account)
        except Exception:
            self.tenants.delete(created.tenant_id)  # the same email won a race: no orphan tenant stays
            raise FormErrors({"email": "email_taken"}) from None
        return self._open_session(account)

    def sign_in(self, email: str, password: str) -> SignedIn:
        with self.db.read_session() as session:
            account = session.scalar(
                select(DeveloperAccount).where(DeveloperAccount.email == email.strip().lower())
            )
        # The hash is computed even for an unknown email, so timing does not tell which emails exist.
        salt = bytes.fromhex(account.password_salt) if account else b"\0" * 16
        computed = hash_password(password[:PASSWORD_MAX_CHARS], salt)
        if account is None or not hmac.compare_digest(computed, account.password_scrypt):
            raise FormErrors({"": "sign_in_failed"})
        return self._open_session(account)

    def _open_session(self, account: DeveloperAccount) -> SignedIn:
        secret = secrets.token_urlsafe(32)
        now = wall_clock()
        row = PortalSession(session_sha256=hash_token(secret), developer_id=account.developer_id,
                            csrf_token=secrets.token_urlsafe(24), created_at=now,
                            expires_at=now + SESSION_TTL)  # fmt: skip
        with self.db.write_session() as session:
            session.execute(delete(PortalSession).where(PortalSession.expires_at < now))  # bounded table
            session.add(row)
            session.commit()
            session.refresh(row)
            session.expunge(row)
        return SignedIn(secret, row, account)

    def session_of(self, secret: str | None) -> SignedIn | None:
        if not secret or len(secret) > 100:
            return None
        with self.db.read_session() as session:
            row = session.get(PortalSession, hash_token(secret))
            if row is None or row.expires_at <= wall_clock():
                return None
            account = session.get(DeveloperAccount, row.developer_id)
        return SignedIn(secret, row, account) if account is not None else None

    def sign_out(self, secret: str) -> None:
        with self.db.write_session() as session:
            session.execute(delete(PortalSession).where(PortalSession.session_sha256 == hash_token(secret)))
            session.commit()

    def set_persona(self, signed_in: SignedIn, username: str | None) -> None:
        with self.db.write_session() as session:
            row = session.get(PortalSession, signed_in.session.session_sha256)
            row.persona_username = username
            session.add(row)
            session.commit()

    # --- apps -------------------------------------------------------------------------------------------
    def apps(self, tenant_id: str) -> list[OAuthClient]:
        return sorted(self.clients.of_tenant(tenant_id), key=lambda row: row.created_at, reverse=True)

    def app(self, tenant_id: str, client_id: str) -> OAuthClient | None:
        row = self.clients.get(client_id)
        return row if row is not None and row.tenant_id == tenant_id else None

    def create_app(self, tenant_id: str, form: dict) -> AppCredentials:
        """Register through the RFC 7591 code; a generated key's private half is returned once, never kept."""
        name = (form.get("name") or "").strip()
        profile = form.get("profile") or ""
        redirect_uris = [
            line.strip() for line in (form.get("redirect_uris") or "").splitlines() if line.strip()
        ]
        errors: dict[str, str] = {}
        if not name:
            errors["name"] = "required"
        if profile not in ("fapi2", "sandbox-basic"):
            errors["profile"] = "profile"
        body: dict = {
            "client_name": name,
            "redirect_uris": redirect_uris,
            "openbank_security_profile": profile,
        }
        private_jwk = private_pem = None
        if profile == "fapi2":
            body["token_endpoint_auth_method"] = "private_key_jwt"
            if form.get("key_source") == "generate":
                public, private_jwk, private_pem = generate_key_pair()
                body["jwks"] = {"keys": [public]}
            else:
                text = form.get("jwks_file") or form.get("jwks") or ""
                if not text.strip():
                    errors["jwks"] = "jwks_required"
                else:
                    try:
                        body["jwks"] = parse_jwks(text)
                    except FormErrors as exc:
                        errors.update(exc.errors)
        else:
            body["token_endpoint_auth_method"] = "client_secret_basic"
        if errors:
            raise FormErrors(errors)
        try:
            registered = self.clients.register(tenant_id, body)
        except InvalidClientMetadata as exc:
            raise FormErrors({_field_of(exc): exc.description}) from None
        return AppCredentials(registered.client_id, registered.client_secret, private_jwk, private_pem)

    def rotate(self, tenant_id: str, client_id: str) -> AppCredentials | None:
        """fapi2: a new generated key pair replaces the registered keys; sandbox-basic: a new client secret."""
        row = self.app(tenant_id, client_id)
        if row is None:
            return None
        if row.profile == "sandbox-basic":
            return AppCredentials(client_id, client_secret=self.clients.rotate_secret(client_id))
        public, private_jwk, private_pem = generate_key_pair()
        self.clients.update(row, {**row.client_metadata, "jwks": {"keys": [public]}})
        return AppCredentials(client_id, private_jwk=private_jwk, private_pem=private_pem)

    def delete_app(self, tenant_id: str, client_id: str) -> bool:
        if self.app(tenant_id, client_id) is None:
            return False
        self.clients.delete(client_id)
        return True

    # --- sandbox controls -------------------------------------------------------------------------------
    def advance_clock(self, tenant_id: str, days: str, months: str) -> tuple[datetime, datetime]:
        """Move the tenant's clock by N days or N calendar months; (before, after)."""
        before = self.tenants.clock(tenant_id)
        days, months = (days or "").strip(), (months or "").strip()
        if bool(days) == bool(months):
            raise FormErrors({"days": "days_or_months"})
        amount = days or months
        if not amount.isdigit() or int(amount) < 1:
            raise FormErrors({"days" if days else "months": "positive_number"})
        step = int(amount) if days else (add_months(before.date(), int(amount)) - before.date()).days
        if step > MAX_ADVANCE_DAYS:
            raise FormErrors({"days" if days else "months": "too_far"})
        return before, self.tenants.advance_clock(tenant_id, step)

    # --- classrooms ------------------------------------------------------------------------------------
    def create_classroom(self, developer_id: str, name: str, team_names: list[str]) -> ClassroomResult:
        """N tenants with one sandbox-basic app each, provisioned a few at a time; all of them or none."""
        name = name.strip() or "Classroom"
        if len(name) > 80:
            raise FormErrors({"name": "too_long"})
        classroom = Classroom(classroom_id=new_id("cls"), developer_id=developer_id, name=name,
                              created_at=wall_clock())  # fmt: skip
        prefix = "cls-" + secrets.token_hex(3)
        jobs = [(position, team, f"{prefix}-t{position:03d}") for position, team in enumerate(team_names, 1)]
        created: list[str] = []

        def provision(job: tuple[int, str, str]) -> ClassroomTeam:
            position, team, tenant_id = job
            tenant = self.tenants.create(tenant_id)
            created.append(tenant_id)  # list.append is atomic: the undo below sees every tenant made
            app = self.clients.register(tenant_id, {
                "client_name": team, "token_endpoint_auth_method": "client_secret_basic",
                "redirect_uris": [CLASSROOM_REDIRECT_URI]})  # fmt: skip
            return ClassroomTeam(classroom_id=classroom.classroom_id, position=position, team_name=team,
                                 tenant_id=tenant_id, initial_access_token=tenant.initial_access_token,
                                 client_id=app.client_id, client_secret=app.client_secret,
                                 created_at=wall_clock())  # fmt: skip

        try:
            with ThreadPoolExecutor(
                max_workers=self.classroom_threads, thread_name_prefix="classroom"
            ) as pool:
                teams = list(pool.map(provision, jobs))
            with self.db.write_session() as session:
                session.add(classroom)
                session.add_all(teams)
                session.commit()
        except BaseException:
            for tenant_id in created:
                with contextlib.suppress(OBIEError):  # already gone
                    self.tenants.delete(tenant_id)
            raise
        return self.classroom(developer_id, classroom.classroom_id)

    def classrooms(self, developer_id: str) -> list[Classroom]:
        with self.db.read_session() as session:
            query = select(Classroom).where(Classroom.developer_id == developer_id)
            return list(session.scalars(query.order_by(Classroom.created_at.desc())))

    def classroom(self, developer_id: str, classroom_id: str) -> ClassroomResult | None:
        with self.db.read_session() as session:
            classroom = session.get(Classroom, classroom_id)
            if classroom is None or classroom.developer_id != developer_id:
                return None
            teams = session.scalars(
                select(ClassroomTeam)
                .where(ClassroomTeam.classroom_id == classroom_id)
                .order_by(ClassroomTeam.position)
            )
            return ClassroomResult(classroom, list(teams))

    def reset_team(self, developer_id: str, classroom_id: str, position: int) -> ClassroomTeam | None:
        found = self.classroom(developer_id, classroom_id)
        team = next((t for t in found.teams if t.position == position), None) if found else None
        if team is not None:
            self.tenants.reset(team.tenant_id)
        return team


def credentials_csv(result: ClassroomResult) -> str:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["team", "tenant_id", "initial_access_token", "client_id", "client_secret"])
    for team in result.teams:
        # A leading = + - @ would be a formula in a spreadsheet: quote it away.
        name = "'" + team.team_name if team.team_name[:1] in "=+-@" else team.team_name
        writer.writerow([name, team.tenant_id, team.initial_access_token, team.client_id, team.client_secret])
    return out.getvalue()


def _field_of(exc: InvalidClientMetadata) -> str:
    if exc.error == "invalid_redirect_uri":
        return "redirect_uris"
    if "jwks" in exc.description:
        return "jwks"
    if "client_name" in exc.description:
        return "name"
    return ""
