"""The emulator's in-memory Capture data: API clients, users, tokens and a movable clock.

Nothing here locks: :class:`~flask_capture_link.emulator.CaptureEmulator` holds one lock around
every use of a :class:`Store`.
"""

from __future__ import annotations

import secrets
import string
import time
import uuid
from dataclasses import dataclass, field, replace
from datetime import datetime, timezone

from .providers import Provider

#: The flow, flow version and locales the emulated Capture application has.
FLOW = "standard"
FLOW_VERSION = "20190618143040022299"
LOCALES = ("en-US", "es-ES")

#: Refresh tokens live 30 days, like Capture's.
REFRESH_TOKEN_LIFETIME = 30 * 24 * 3600.0

#: Authorization codes live 10 minutes: RFC 6749 4.1.2's recommended maximum (no vendor page
#: gives Capture's own lifetime; an assumption, see docs/conformance.md).
AUTHORIZATION_CODE_LIFETIME = 600.0

#: API client features (the vendor's permission tables) that may call ``/oauth/token``; the
#: vendor's table lists owner, access_issuer and direct_access, its guides use the login
#: client, so both are accepted.
TOKEN_FEATURES = frozenset({"owner", "access_issuer", "direct_access", "login_client"})

#: Features whose client may exchange a code or refresh token issued to another client of
#: the application (an assumption: the table lets them call ``/oauth/token``, and a sign-in
#: issues codes to the login client).
ISSUER_FEATURES = frozenset({"owner", "access_issuer", "direct_access"})

#: An expired access token is still known this long after it expires, so a call with it is
#: answered 414 ``access_token_expired`` rather than 413 ``invalid_access_token``; then it is
#: forgotten, so a long run's memory stays bounded (no source says how long Capture knows an
#: expired token: an assumption, see docs/conformance.md).
EXPIRED_ACCESS_TOKEN_KEPT = 3600.0

#: Seconds, by the emulator's clock, between two sweeps of the expired tokens; a sweep runs
#: when a token is issued, so it costs one pass over the tables at most this often.
SWEEP_INTERVAL = 60.0

_ALPHANUMERIC = string.ascii_lowercase + string.digits


def random_string(length: int, alphabet: str = _ALPHANUMERIC) -> str:
    """A random string of lowercase letters and digits (Capture's ids and tokens look so)."""
    return "".join(secrets.choice(alphabet) for _ in range(length))


class Clock:
    """Monotonic seconds that tests can move forward to expire tokens without waiting."""

    def __init__(self) -> None:
        self._offset = 0.0

    def now(self) -> float:
        """The emulator's current time in seconds."""
        return time.monotonic() + self._offset

    def advance(self, seconds: float) -> None:
        """Move the clock ``seconds`` forward."""
        if seconds < 0:
            raise ValueError("the emulator clock only moves forward")
        self._offset += seconds

    def reset(self) -> None:
        """Put the clock back to real time."""
        self._offset = 0.0


@dataclass
class Client:
    """A Capture API client and its features (``login_client``, ``owner``, ...); only one
    with ``login_client`` may call the login endpoints."""

    client_id: str
    client_secret: str
    features: frozenset[str] = frozenset()
    default_flow: bool = False

    @property
    def login_client(self) -> bool:
        """Whether the client may call the login endpoints (``/oauth/*_native``)."""
        return "login_client" in self.features

    @property
    def may_call_token(self) -> bool:
        """Whether the client may call ``/oauth/token``."""
        return bool(self.features & TOKEN_FEATURES)

    def may_redeem(self, grant: Grant | CodeGrant) -> bool:
        """Whether this client may exchange a code or refresh token issued as ``grant``."""
        return grant.client_id == self.client_id or bool(self.features & ISSUER_FEATURES)


@dataclass(frozen=True)
class Profile:
    """A linked social identity: one element of the user record's ``profiles`` plural.

    ``entry_id`` is the element's ``id`` in the plural, given when it is linked.
    ``email_verified`` says whether the provider vouches for ``email``: only a verified email
    can lead to a merge (the vendor's "Merge accounts" page).
    """

    domain: str
    identifier: str
    display_name: str | None = None
    preferred_username: str | None = None
    email: str | None = None
    entry_id: int = 0
    email_verified: bool = True

    @property
    def verified_email(self) -> str | None:
        """The provider's email when the provider verified it."""
        return self.email if self.email_verified else None

    def to_json(self) -> dict[str, object]:
        """The element in the default schema's shape: the provider's profile nested under
        ``profile`` (jump.ios ``JRProfilesElement``/``JRProfile``); no provider secrets."""
        profile: dict[str, object] = {
            "displayName": self.display_name,
            "preferredUsername": self.preferred_username,
            "name": {"formatted": self.display_name} if self.display_name else None,
            "emails": [{"primary": True, "type": None, "value": self.email}] if self.email else [],
        }
        return {
            "id": self.entry_id,
            "accessCredentials": None,
            "domain": self.domain,
            "followers": [],
            "following": [],
            "friends": [],
            "identifier": self.identifier,
            "profile": profile,
            "provider": None,
            "remote_key": None,
            "verifiedEmail": self.verified_email,
        }


def social_profile(
    provider: Provider,
    account_id: str,
    display_name: str | None = None,
    email: str | None = None,
    *,
    email_verified: bool = True,
) -> Profile:
    """The profile Capture stores for the account ``account_id`` at ``provider``."""
    return Profile(
        domain=provider.domain,
        identifier=provider.identifier(account_id),
        display_name=display_name,
        preferred_username=account_id,
        email=email,
        email_verified=email_verified,
    )


@dataclass
class User:
    """A Capture user record; ``record_id`` is its ``id``, ``created``/``last_updated`` are
    Capture's timestamps (``2015-11-15 01:58:01.862312 +0000``)."""

    uuid: str
    email: str
    password: str
    display_name: str | None
    record_id: int = 0
    created: str = ""
    last_updated: str = ""
    profiles: list[Profile] = field(default_factory=list)

    def summary(self) -> dict[str, object]:
        """The ``capture_user`` part of a sign-in answer."""
        return {"uuid": self.uuid, "email": self.email, "displayName": self.display_name}

    def to_json(self) -> dict[str, object]:
        """The whole record as ``/entity`` returns it in ``result`` (no password hash)."""
        return {
            "id": self.record_id,
            "uuid": self.uuid,
            "created": self.created,
            "lastUpdated": self.last_updated,
            "email": self.email,
            "displayName": self.display_name,
            "password": None,
            "profiles": [profile.to_json() for profile in self.profiles],
        }


def timestamp() -> str:
    """The wall-clock time as Capture writes ``created`` and ``lastUpdated``."""
    return datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M:%S.%f +0000")


@dataclass(frozen=True)
class Grant:
    """What an access or refresh token stands for: a user, the client it was issued to, expiry."""

    user_uuid: str
    client_id: str
    expires_at: float


@dataclass(frozen=True)
class CodeGrant:
    """What an authorization code stands for: a user, the client and ``redirect_uri`` it was
    issued with, its expiry (RFC 6749: bound to the client and the redirect URI)."""

    user_uuid: str
    client_id: str
    redirect_uri: str
    expires_at: float


@dataclass(frozen=True)
class SocialGrant:
    """What a Social Login token stands for: the identity the user signed in with."""

    profile: Profile
    expires_at: float


class Store:
    """Clients, users and tokens of one emulated Capture application."""

    def __init__(
        self, clock: Clock, access_token_lifetime: float, social_token_lifetime: float
    ) -> None:
        self.clock = clock
        self.access_token_lifetime = access_token_lifetime
        self.social_token_lifetime = social_token_lifetime
        #: The locales the flow has (``--locales``): any other is "could not find a flow".
        self.locales: tuple[str, ...] = LOCALES
        self.clients: dict[str, Client] = {}
        self.users: dict[str, User] = {}
        self.access_tokens: dict[str, Grant] = {}
        self.refresh_tokens: dict[str, Grant] = {}
        self.codes: dict[str, CodeGrant] = {}
        self.social_tokens: dict[str, SocialGrant] = {}
        #: Social Login tokens that met a 380, and the account whose email they share: the
        #: only tokens a merge takes as ``merge_token``.
        self.merge_candidates: dict[str, str] = {}
        self._uuid_by_email: dict[str, str] = {}
        self._owner_by_identity: dict[tuple[str, str], str] = {}
        self._next_id = 1
        self._next_sweep = 0.0

    def clear(self) -> None:
        """Forget every user and token; API clients stay."""
        tables = (self.users, self.access_tokens, self.refresh_tokens, self.codes)
        for table in (*tables, self.social_tokens, self.merge_candidates):
            table.clear()
        self._uuid_by_email.clear()
        self._owner_by_identity.clear()
        self._next_sweep = 0.0

    def add_user(
        self,
        email: str,
        password: str,
        display_name: str | None,
        *,
        user_uuid: str | None = None,
    ) -> User:
        """Create a user (with a new random uuid unless given one); emails are unique
        regardless of case."""
        key = email.casefold()
        if key in self._uuid_by_email:
            raise ValueError(f"a user with email {email!r} already exists")
        now = timestamp()
        user = User(
            user_uuid or str(uuid.uuid4()),
            email,
            password,
            display_name,
            self._new_id(),
            now,
            now,
        )
        self.users[user.uuid] = user
        self._uuid_by_email[key] = user.uuid
        return user

    def find_user(self, email: str) -> User | None:
        """The user with that email (any case), if there is one."""
        user_uuid = self._uuid_by_email.get(email.casefold())
        return None if user_uuid is None else self.users[user_uuid]

    def user(self, email: str) -> User:
        """The user with that email; :class:`ValueError` when there is none."""
        user = self.find_user(email)
        if user is None:
            raise ValueError(f"no user with email {email!r}")
        return user

    def owner(self, profile: Profile) -> User | None:
        """The user that identity is linked to, if any."""
        user_uuid = self._owner_by_identity.get((profile.domain, profile.identifier))
        return None if user_uuid is None else self.users[user_uuid]

    def link(self, user: User, profile: Profile) -> None:
        """Add the identity to the user's profiles (the caller checked it is free)."""
        user.profiles.append(replace(profile, entry_id=self._new_id()))
        user.last_updated = timestamp()
        self._owner_by_identity[(profile.domain, profile.identifier)] = user.uuid

    def unlink(self, user: User, identifier: str) -> bool:
        """Remove the user's profile with that identifier; False when the user has none."""
        for profile in user.profiles:
            if profile.identifier == identifier:
                user.profiles.remove(profile)
                user.last_updated = timestamp()
                del self._owner_by_identity[(profile.domain, profile.identifier)]
                return True
        return False

    def _new_id(self) -> int:
        """The next record or plural element ``id`` (Capture's ids are integers)."""
        self._next_id += 1
        return self._next_id - 1

    def token_counts(self) -> dict[str, int]:
        """How many access tokens, refresh tokens, codes and Social Login tokens are kept."""
        return {
            "access_tokens": len(self.access_tokens),
            "refresh_tokens": len(self.refresh_tokens),
            "codes": len(self.codes),
            "social_tokens": len(self.social_tokens),
        }

    def drop_expired(self) -> None:
        """Forget the tokens and codes that expired: they answer as unknown ones would (an
        access token after :data:`EXPIRED_ACCESS_TOKEN_KEPT` more seconds)."""
        now = self.clock.now()
        self._next_sweep = now + SWEEP_INTERVAL
        kept = now - EXPIRED_ACCESS_TOKEN_KEPT
        for table, after in (
            (self.access_tokens, kept),
            (self.refresh_tokens, now),
            (self.codes, now),
            (self.social_tokens, now),
        ):
            for key in [key for key, grant in table.items() if grant.expires_at <= after]:
                del table[key]

    def _sweep_now_and_then(self) -> None:
        if self.clock.now() >= self._next_sweep:
            self.drop_expired()

    def issue_access_token(self, user: User, client_id: str) -> str:
        """A fresh access token for the user (a sign-in with ``response_type=token``)."""
        self._sweep_now_and_then()
        access_token = random_string(24)
        expires_at = self.clock.now() + self.access_token_lifetime
        self.access_tokens[access_token] = Grant(user.uuid, client_id, expires_at)
        return access_token

    def issue_code(self, user: User, client_id: str, redirect_uri: str) -> str:
        """A single-use authorization code (a sign-in with ``response_type=code``)."""
        self._sweep_now_and_then()
        code = random_string(14)  # the vendor's examples show 14 letters and digits
        expires_at = self.clock.now() + AUTHORIZATION_CODE_LIFETIME
        self.codes[code] = CodeGrant(user.uuid, client_id, redirect_uri, expires_at)
        return code

    def issue_tokens(self, user: User, client_id: str) -> dict[str, object]:
        """A fresh access token and refresh token for the user, as ``/oauth/token`` answers
        them (an exchanged code or a refresh)."""
        access_token = self.issue_access_token(user, client_id)
        refresh_token = random_string(32)
        self.refresh_tokens[refresh_token] = Grant(
            user.uuid, client_id, self.clock.now() + REFRESH_TOKEN_LIFETIME
        )
        return {
            "access_token": access_token,
            "refresh_token": refresh_token,
            "expires_in": round(self.access_token_lifetime),
        }

    def issue_social_token(self, profile: Profile) -> str:
        """A one-time Social Login token (40 lowercase hex characters) for that identity."""
        self._sweep_now_and_then()
        token = secrets.token_hex(20)
        self.social_tokens[token] = SocialGrant(
            profile, self.clock.now() + self.social_token_lifetime
        )
        return token

    def expire_access_tokens(self, user_uuid: str | None = None) -> None:
        """Make the access tokens of that user (or of everyone) expire now."""
        now = self.clock.now()
        for token, grant in list(self.access_tokens.items()):
            if user_uuid is None or grant.user_uuid == user_uuid:
                self.access_tokens[token] = Grant(grant.user_uuid, grant.client_id, now)
