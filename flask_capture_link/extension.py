"""``CaptureLink``, the extension object a site creates."""

from __future__ import annotations

import logging
import operator
import threading
import weakref
from collections.abc import Callable, Mapping, Sequence
from typing import Any, TypeVar

from flask import (
    Flask,
    current_app,
    has_app_context,
    has_request_context,
    request,
    session,
    url_for,
)
from markupsafe import Markup

from . import buttons, config, freshness, integrations, messages, signals, state
from .client import CaptureClient
from .client.errors import (
    AccessTokenExpired,
    AccessTokenInvalid,
    CaptureAnswerLost,
    CaptureError,
    CaptureUnavailable,
    ClientCredentialsRefused,
    NoAccessToken,
    RefreshTokenInvalid,
    SessionExpired,
)
from .client.models import LinkedIdentity, Tokens
from .config import ConfigError
from .redirects import safe_next
from .storage import SessionStorage, TokenStorage, _secret_keys
from .store import MemoryStateStore, RedisStateStore, StateStore

logger = logging.getLogger(__name__)

T = TypeVar("T")
AccessTokenLoader = Callable[[], "str | None"]
LocaleSelector = Callable[[], "str | None"]

#: ``(tokens, capture_user) -> None``: signs the site's own user in after a social sign-in
#: (Flask-Login's ``login_user``); ``capture_user`` is Capture's user record, or ``None``.
SignedIn = Callable[[Tokens, "dict[str, Any] | None"], object]

#: ``(identity, identities) -> bool``: whether ``identity`` may be unlinked, ``identities``
#: being all the user's linked identities now (``identity`` among them).
UnlinkAllowed = Callable[[LinkedIdentity, Sequence[LinkedIdentity]], bool]

#: The settings a :class:`CaptureClient` is built from; a change to any builds a new client.
CLIENT_KEYS = tuple(
    config.PREFIX + name
    for name in (
        "DOMAIN",
        "CLIENT_ID",
        "FLOW",
        "FLOW_VERSION",
        "USE_CLIENT_DEFAULT_FLOW",
        "LOCALE",
        "FLOW_LOCALES",
        "REDIRECT_URI",
        "LINK_PATH",
        "TIMEOUT",
        "CA_BUNDLE",
        "CLIENT_SECRET",
        "TOKEN_CLIENT_ID",
    )
)

#: Fixed at ``init_app``: the views are registered under it then.
_URL_PREFIX = config.PREFIX + "URL_PREFIX"

_read_client_settings = operator.itemgetter(*CLIENT_KEYS, _URL_PREFIX)

#: Where the identities of this request are kept (per request, not per app context).
_IDENTITIES = "flask_capture_link.identities"

#: Set in a request whose tokens were dropped (and not stored again): they are dropped once.
_FORGOTTEN = "flask_capture_link.tokens_forgotten"


class CaptureLink:
    """Lets signed-in users link another social identity to their Capture account.

    ::

        capture_link = CaptureLink(app)

        # or, with an application factory:
        capture_link = CaptureLink()
        capture_link.init_app(app)

    One instance may serve several apps; each app gets its own :class:`CaptureClient`. Config
    is read when it is used: the client follows the app's ``CAPTURE_LINK_*`` settings as they
    are then (rebuilt only when one of them changed), and everything else reads
    ``current_app.config`` per request, so config set after :meth:`init_app` works.

    With several worker processes or machines, give it Redis, where spent link states and
    refreshes are shared (or set ``CAPTURE_LINK_REDIS_URL``; a site whose Flask-Session keeps
    sessions in Redis needs neither)::

        capture_link = CaptureLink(app, redis=redis.Redis.from_url(url))

    The user's Registration tokens are kept in the session. A site that keeps them elsewhere
    (a database row of the user, a server-side cache) gives its own
    :class:`~flask_capture_link.storage.TokenStorage`, here or later as
    :attr:`token_storage`::

        capture_link = CaptureLink(app, token_storage=UserTableStorage())
    """

    def __init__(
        self,
        app: Flask | None = None,
        *,
        redis: Any = None,
        token_storage: TokenStorage | None = None,
    ) -> None:
        self._token_storage: TokenStorage = token_storage or SessionStorage()
        #: The hooks decorated outside any app context: every app's, unless it has its own.
        self._hooks: dict[str, Callable[..., Any]] = {}
        self._redis = redis
        self._apps: weakref.WeakKeyDictionary[Flask, _AppState] = weakref.WeakKeyDictionary()
        if app is not None:
            self.init_app(app)

    def init_app(
        self, app: Flask, *, redis: Any = None, token_storage: TokenStorage | None = None
    ) -> None:
        """Check the app's ``CAPTURE_LINK_*`` config, build its client, register the views,
        template globals and the ``flask capture-link`` command.

        ``redis`` (else the one given to the constructor) is a ``redis.Redis`` client for the
        app's state store. ``token_storage`` keeps this app's tokens (else the extension's
        :attr:`token_storage`). Without any Redis and with several worker processes likely, a
        warning is logged: single use holds per process.

        Under ``TESTING``, or while a ``flask`` command loads the app (``flask routes``,
        ``flask capture-link check``), settings that are missing (none wrong) are logged and
        the :class:`ConfigError` waits for the first use of Capture: a site's own tests and
        commands keep working before the Capture settings are there.

        :raises ConfigError: naming every key that is missing or wrong, each with what to set.
        """
        from .cli import capture_link_cli
        from .views import blueprint

        config.apply_defaults(app.config)
        deferred = False
        try:
            config.validate(app.config)
        except ConfigError as error:
            # Only settings not there yet wait; a wrong value is an error now, tests or not.
            missing_only = all(found.problem.startswith("is required") for found in error.problems)
            if not (missing_only and (app.testing or _in_flask_command())):
                raise
            logger.warning("capture-link settings to set, before Capture is used:\n%s", error)
            deferred = True
        self._apps[app] = _AppState(app.config[_URL_PREFIX], redis or self._redis)
        self._apps[app].token_storage = token_storage
        self._apps[app].deferred = deferred
        app.extensions["capture_link"] = self
        if self.state_store_source(app) is None:
            many = integrations.likely_many()
            if many is not None:
                logger.warning("%s", per_process_warning(many))
        app.register_blueprint(blueprint, url_prefix=app.config[_URL_PREFIX])
        app.add_template_global(self.token_url, "capture_link_token_url")
        app.add_template_global(self.button, "capture_link_button")
        app.add_template_global(self.unlink_button, "capture_link_unlink_button")
        app.add_template_global(self.sign_in_button, "capture_link_sign_in_button")
        app.add_template_global(self.linked_identities, "capture_link_identities")
        app.add_template_global(buttons.require, "capture_link_require")
        integrations.exempt_from_csrf(app)
        integrations.on_flask_login_sign_in(
            app, freshness.flask_login_signed_in, freshness.flask_login_restored
        )
        app.cli.add_command(capture_link_cli)

    def access_token_loader(self, loader: AccessTokenLoader) -> AccessTokenLoader:
        """Decorate the function that returns the current user's Registration access token
        (or ``None``). Without one, the token is read from :attr:`token_storage` (by default
        sealed in the session), where :meth:`store_tokens` puts it::

            @capture_link.access_token_loader
            def load_access_token():
                return current_user.capture_access_token

        A loader decides only which access token is sent; refreshes still read and write the
        tokens in :attr:`token_storage`. To keep all the tokens elsewhere, give a storage
        instead.
        """
        self._register("access_token_loader", loader)
        return loader

    def locale_selector(self, selector: LocaleSelector) -> LocaleSelector:
        """Decorate the function that picks the user's locale for this request, such as
        ``"fr-FR"``: the language of every message. Capture gets the nearest locale its flow
        has (:meth:`flow_locale`). ``None`` means ``CAPTURE_LINK_LOCALE``::

            @capture_link.locale_selector
            def pick_locale():
                return request.accept_languages.best_match(["en-US", "es-ES"])
        """
        self._register("locale_selector", selector)
        return selector

    def unlink_allowed(self, decide: UnlinkAllowed) -> UnlinkAllowed:
        """Decorate the function that decides whether the user may unlink an identity. It gets
        the identity and all the user's linked identities now, and returns ``True`` to allow.
        Without one, the last identity may be unlinked only by a session that signed in with a
        password (see :meth:`signed_in_with_password`)::

            @capture_link.unlink_allowed
            def keep_a_way_in(identity, identities):
                return len(identities) > 1 or current_user.has_password

        A refusal sends nothing to Capture; the identity's unlink button is disabled and says
        why (message ``unlink_disabled``; the refusal's message is ``unlink_not_allowed``).
        """
        self._register("unlink_allowed", decide)
        return decide

    def signed_in(self, hook: SignedIn) -> SignedIn:
        """Decorate the function that signs the site's own user in after a sign-in with a
        linked identity (:meth:`sign_in_button`) or a merge on sign-in. It gets the user's
        :class:`~flask_capture_link.Tokens` and Capture's user record (``tokens.capture_user``:
        ``uuid``, ``email``, ..., or ``None`` when Capture sent none)::

            @capture_link.signed_in
            def sign_in_site_user(tokens, capture_user):
                login_user(User.for_capture(capture_user["uuid"]), fresh=True)

        The extension calls it first, then :meth:`store_tokens` (which, with Flask-Login,
        keeps the tokens for the user it signed in). Without it, sign-in buttons do not render
        and the token URL refuses social sign-ins (outcome ``sign_in_not_set_up``).
        """
        self._register("signed_in", hook)
        return hook

    @property
    def signed_in_hook(self) -> SignedIn | None:
        """The function decorated with :meth:`signed_in`, or ``None``."""
        found: SignedIn | None = self._hook("signed_in")
        return found

    @property
    def token_storage(self) -> TokenStorage:
        """Where the user's tokens are kept: every read and write of them goes through it.
        Default: :class:`~flask_capture_link.storage.SessionStorage`. The current app's own
        (given to :meth:`init_app`, or set inside its app context) wins over the extension's.
        """
        found = self._current_app_state()
        if found is not None and found.token_storage is not None:
            return found.token_storage
        return self._token_storage

    @token_storage.setter
    def token_storage(self, storage: TokenStorage) -> None:
        found = self._current_app_state()
        if found is not None:
            found.token_storage = storage
        else:
            self._token_storage = storage

    def _register(self, name: str, hook: Callable[..., Any]) -> None:
        """Keep ``hook``: for the current app when decorated inside its app context (a test's
        app: other apps, other tests, do not get it), else for every app without its own."""
        found = self._current_app_state()
        (found.hooks if found is not None else self._hooks)[name] = hook

    def _hook(self, name: str) -> Any:
        found = self._current_app_state()
        if found is not None and name in found.hooks:
            return found.hooks[name]
        return self._hooks.get(name)

    def _current_app_state(self) -> _AppState | None:
        if not has_app_context():
            return None
        return self._apps.get(current_app._get_current_object())  # type: ignore[attr-defined]

    @property
    def _access_token_loader(self) -> AccessTokenLoader | None:
        found: AccessTokenLoader | None = self._hook("access_token_loader")
        return found

    @property
    def _locale_selector(self) -> LocaleSelector | None:
        found: LocaleSelector | None = self._hook("locale_selector")
        return found

    @property
    def _unlink_allowed(self) -> UnlinkAllowed | None:
        found: UnlinkAllowed | None = self._hook("unlink_allowed")
        return found

    def may_unlink(
        self, identity: LinkedIdentity, identities: Sequence[LinkedIdentity] | None = None
    ) -> bool:
        """Whether the user may unlink ``identity`` (of ``identities``, by default the user's
        linked identities of this request), as the ``unlink_allowed`` function decides."""
        found = self.linked_identities() if identities is None else identities
        decide = self._unlink_allowed or default_unlink_allowed
        return bool(decide(identity, found))

    def is_fresh(self) -> bool:
        """Whether this session signed in recently enough to change its sign-in methods:
        for a Flask-Login user, ``login_fresh()`` and a fresh ``login_user`` less than
        ``CAPTURE_LINK_FRESH_FOR`` seconds ago; else a sign-in stored with
        :meth:`store_tokens` less than ``CAPTURE_LINK_FRESH_FOR`` seconds ago; ``True`` when
        ``CAPTURE_LINK_REQUIRE_FRESH`` is off or the site hands over the access token itself.
        """
        return freshness.is_fresh()

    def signed_in_with_password(self) -> bool:
        """Whether the tokens in the session came from :meth:`CaptureClient.sign_in` (email
        and password) through :meth:`store_tokens`: the account then has a password."""
        return freshness.signed_in_with_password()

    @property
    def client(self) -> CaptureClient:
        """The current app's :class:`CaptureClient`, for its config as it is now (built again
        only when one of its settings changed).

        :raises ConfigError: when a setting was changed after ``init_app`` to a wrong value.
        """
        app: Flask = current_app._get_current_object()  # type: ignore[attr-defined]
        found = self._state(app)
        settings = _client_settings(app.config)
        built = found.client
        if built is not None and built[0] == settings:
            return built[1]
        with found.lock:
            built = found.client
            if built is not None and built[0] == settings:  # another thread built it meanwhile
                return built[1]
            config.apply_defaults(app.config)  # a config.clear() must not make a KeyError
            config.validate(app.config)
            if app.config[_URL_PREFIX] != found.url_prefix:
                raise ConfigError(
                    _URL_PREFIX,
                    f"changed after init_app, which registered the views under "
                    f"{found.url_prefix!r}; set it before calling init_app",
                )
            client = build_client(app.config)
            found.client = (_frozen(_client_settings(app.config)), client)
            if built is not None:
                # Safe for a call in flight on the old client: its connection is closed when
                # returned to the closed pool.
                built[1].close()
            return client

    def state_store(self) -> StateStore:
        """The current app's state store, where link states are spent and refreshes meet,
        chosen from the app's config now (so config set after ``init_app`` counts): Redis
        when the app has one (see :meth:`state_store_source`), else this process's memory.
        """
        app: Flask = current_app._get_current_object()  # type: ignore[attr-defined]
        found = self._state(app)
        client = self._redis_client(app, found)
        if client is None:
            if (
                not found.warned
                and has_request_context()
                and request.environ.get("wsgi.multiprocess")
            ):
                found.warned = True
                logger.warning("%s", per_process_warning("the WSGI server says wsgi.multiprocess"))
            return found.memory_store
        prefix = str(app.config["CAPTURE_LINK_REDIS_PREFIX"])
        store = found.redis_stores.get((id(client), prefix))
        if store is None or store.client is not client:
            with found.lock:
                if len(found.redis_stores) > 64:  # clients made per request: keep not all
                    found.redis_stores.clear()
                store = found.redis_stores[(id(client), prefix)] = RedisStateStore(client, prefix)
        return store

    def state_store_source(self, app: Flask | None = None) -> str | None:
        """What gives ``app``'s (default: the current app's) state store its Redis: the client
        given to the extension, ``CAPTURE_LINK_REDIS``, ``CAPTURE_LINK_REDIS_URL`` or
        Flask-Session's Redis (``SESSION_TYPE = "redis"``, even before Flask-Session is set
        up); ``None`` for this process's memory."""
        app = app or current_app._get_current_object()  # type: ignore[attr-defined]
        if self._state(app, check=False).redis is not None:
            return "the Redis client given to CaptureLink"
        if app.config.get("CAPTURE_LINK_REDIS") is not None:
            return "CAPTURE_LINK_REDIS"
        if app.config.get("CAPTURE_LINK_REDIS_URL"):
            return "CAPTURE_LINK_REDIS_URL"
        if app.config.get("SESSION_TYPE") == "redis":
            return "Flask-Session's Redis client"
        return None

    @property
    def has_access_token_loader(self) -> bool:
        """Whether the site gave an :meth:`access_token_loader`."""
        return self._access_token_loader is not None

    def locale(self) -> str:
        """The locale of this request: the selector's choice, else ``CAPTURE_LINK_LOCALE``."""
        chosen = self._locale_selector() if self._locale_selector is not None else None
        # A selector may return a babel Locale ("es_ES"); Capture wants "es-ES".
        return str(chosen or current_app.config["CAPTURE_LINK_LOCALE"]).replace("_", "-")

    def flow_locale(self) -> str:
        """The locale sent to Capture in this request: of ``CAPTURE_LINK_FLOW_LOCALES`` (the
        locales the flow has), the nearest to :meth:`locale`, the user's. A user whose
        language the flow lacks still links (their messages stay in their language)."""
        app_config = current_app.config
        available = config.flow_locales(app_config.get("CAPTURE_LINK_FLOW_LOCALES")) or [
            str(app_config["CAPTURE_LINK_LOCALE"]).replace("_", "-")
        ]
        return config.nearest_locale(self.locale(), available)

    def message(self, key: str, *, provider: str | None = None) -> str:
        """The text of outcome ``key`` in this request's language (with site overrides), with
        ``{provider}`` replaced by the provider's name when one is given."""
        text = messages.lookup(key, self.locale(), current_app.config["CAPTURE_LINK_MESSAGES"])
        return text if provider is None else text.replace("{provider}", provider)

    def user_binding(self) -> str | None:
        """Who the current user is, for binding link states: :meth:`token_owner`; else the
        access token from the loader (states keep only a keyed hash of any of these)."""
        owner = self.token_owner()
        if owner is not None:
            return owner
        loader = self._access_token_loader
        access_token = self._load_access_token(None if loader else self._load_tokens())
        return f"token:{access_token}" if access_token else None

    def token_owner(self) -> str | None:
        """Whose tokens :attr:`token_storage` keeps for this request: ``"user:<id>"`` when
        Flask-Login has a signed-in user; else ``"sign-in:<id>"``, the random id of the sign-in
        that :meth:`store_tokens` recorded in this session; else ``None`` (nobody signed in)."""
        user_id = integrations.flask_login_user_id()
        if user_id is not None:
            return f"user:{user_id}"
        sign_in = freshness.sign_in_id(session)
        if sign_in is not None:  # tokens from store_tokens: stable across refreshes
            return f"sign-in:{sign_in}"
        return None

    def _load_tokens(self) -> Tokens | None:
        """The owner's tokens from the storage; none (the storage is not asked) when nobody
        is signed in, but for a storage in the session, which is the browser's own."""
        storage = self.token_storage
        owner = self.token_owner()
        if owner is None and not storage.in_session:
            return None
        return storage.load(owner or "")

    def token_url(self, next: str | None = None, *, provider: str | None = None) -> str:
        """The absolute token URL, carrying a fresh link state. ``next`` is where the user
        returns after the outcome; only a path on this site is kept. ``provider`` (the
        Social Login provider the URL is for) makes the outcome's message more precise.

        :raises ValueError: for a provider name Social Login would not have.
        """
        if provider is not None:
            buttons.provider_name(provider)  # checks it
        return self._state_url("capture_link.token", state.LINK, next, provider)

    def button(self, provider: str, label: str | None = None, next: str | None = None) -> Markup:
        """A link that starts linking a ``provider`` identity at Social Login (template global
        ``capture_link_button``)::

            {{ capture_link_button("google", next=request.path) }}

        :raises ValueError: for a provider name Social Login would not have.
        :raises ConfigError: when ``CAPTURE_LINK_SOCIAL_LOGIN_URL`` is not set.
        """
        name = buttons.provider_name(provider)
        buttons.check_label("capture_link_button", label)
        text = label or self.message("link_button", provider=name)
        if not self.is_fresh():
            return buttons.reauthenticate_link_button(
                provider, self.reauthenticate_url(next), text
            )
        return buttons.link_button(provider, self.token_url(next, provider=provider), text)

    def sign_in_button(
        self, provider: str, label: str | None = None, next: str | None = None
    ) -> Markup:
        """A link that signs the user in with their linked ``provider`` identity at Social
        Login (template global ``capture_link_sign_in_button``)::

            {{ capture_link_sign_in_button("google", next=request.args.get("next")) }}

        Its token arrives at the token URL, with a state of its own purpose, bound to this
        session (nobody is signed in yet); the :meth:`signed_in` function signs the site's
        user in. ``next`` is where the user lands after (default ``CAPTURE_LINK_DEFAULT_NEXT``).

        :raises ValueError: for a provider name Social Login would not have.
        :raises ConfigError: when ``CAPTURE_LINK_SOCIAL_LOGIN_URL`` is not set, or no
            :meth:`signed_in` function is.
        """
        name = buttons.provider_name(provider)
        buttons.check_label("capture_link_sign_in_button", label)
        if self.signed_in_hook is None:
            raise ConfigError(
                "capture_link.signed_in",
                "is required for capture_link_sign_in_button: decorate the function that signs "
                "your user in (see docs/sign-in.md)",
            )
        text = label or self.message("sign_in_button", provider=name)
        url = self.sign_in_token_url(state.SIGN_IN, next, provider)
        return buttons.sign_in_button(provider, url, text)

    def sign_in_token_url(
        self, purpose: str, next: str | None, provider: str, subject: str | None = None
    ) -> str:
        """The absolute token URL with a state of a sign-in ``purpose`` (:data:`state.SIGN_IN`,
        or :data:`state.MERGE` with the merge's id as ``subject``): bound to this session only,
        as nobody is signed in yet."""
        value = state.issue(session, purpose, None, self._next(next), subject, provider)
        return url_for("capture_link.token", state=value, _external=True)

    def unlink_button(
        self, identity: LinkedIdentity, label: str | None = None, next: str | None = None
    ) -> Markup:
        """A small POST form that unlinks ``identity``, and only it (template global
        ``capture_link_unlink_button``). A session that is not fresh gets a button that leads
        to confirming the password first; a fresh one, a disabled button saying why when the
        identity may not be unlinked (see :meth:`unlink_allowed`)."""
        if not isinstance(identity, LinkedIdentity):
            raise TypeError(
                "capture_link_unlink_button takes an identity of capture_link_identities(), "
                f"not {identity!r}"
            )
        buttons.check_label("capture_link_unlink_button", label)
        text = label or self.message("unlink_button").replace("{identity}", identity.label)
        if not self.is_fresh():
            # First the password: how the session signed in is what the default rule asks
            # (a session restored from remember-me has no record of it until then).
            return buttons.reauthenticate_unlink_button(
                url_for("capture_link.reauthenticate"), self._page(next), text
            )
        if not self.may_unlink(identity):
            reason = self.message("unlink_disabled")
            return buttons.disabled_unlink_button(identity.identifier, text, reason)
        value = state.issue(
            session,
            state.UNLINK,
            self.user_binding(),
            self._next(next),
            subject=identity.identifier,
        )
        return buttons.unlink_button(
            url_for("capture_link.unlink"), value, identity.identifier, text
        )

    def reauthenticate_url(self, next: str | None = None) -> str:
        """Where a button of a session that is not fresh leads: the extension's
        ``capture_link.reauthenticate`` endpoint, which sends the user to confirm their password
        (Flask-Login's ``refresh_view``) and then back to ``next`` (default: this page)."""
        return url_for("capture_link.reauthenticate", next=self._page(next))

    def linked_identities(self, *, raise_errors: bool = False) -> list[LinkedIdentity]:
        """The current user's linked identities, asked of Capture at most once per request.

        Empty when the user has no access token. When Capture cannot say, the reason is logged
        and the list is empty, or, with ``raise_errors=True``, the
        :class:`~flask_capture_link.errors.CaptureError` is raised (so a page can tell "none
        linked" from "could not ask"). An ended session drops the stored tokens either way.
        """
        cached: list[LinkedIdentity] | None = request.environ.get(_IDENTITIES)
        if cached is not None:
            return cached
        try:
            identities = self.with_access_token(self.client.linked_identities)
        except NoAccessToken:
            identities = []
        except CaptureError as error:
            logger.warning("could not list identities: %s", error)
            if isinstance(error, AccessTokenInvalid):
                self.forget_tokens()
            if raise_errors:
                raise
            return []
        request.environ[_IDENTITIES] = identities
        return identities

    def store_tokens(self, tokens: Tokens) -> None:
        """Keep ``tokens`` (from :meth:`CaptureClient.sign_in` or ``refresh``) in
        :attr:`token_storage` (by default the session), where the extension reads them, as a
        new sign-in of this session::

            capture_link.store_tokens(capture_link.client.sign_in(email, password))

        Tokens of a sign-in make the session fresh for ``CAPTURE_LINK_FRESH_FOR`` seconds
        (where Flask-Login does not decide); tokens from a refresh do not.

        With Flask-Login, call it after ``login_user``: the tokens are kept for the signed-in
        user (see :meth:`token_owner`).

        :raises RuntimeError: on an app with Flask-Login whose :attr:`token_storage` keeps
            tokens outside the session, when no user is signed in yet: the tokens would
            belong to nobody.
        """
        storage = self.token_storage
        if (
            not storage.in_session
            and integrations.login_manager() is not None
            and integrations.flask_login_user_id() is None
        ):
            raise RuntimeError(
                "store_tokens was called with no Flask-Login user signed in: call "
                "login_user(user) first, then store_tokens(tokens), so that "
                f"{type(storage).__name__} keeps the tokens for that user"
            )
        previous = self.token_owner()
        freshness.record(session, tokens)
        owner = self.token_owner()
        if previous is not None and previous != owner and previous.startswith("sign-in:"):
            storage.forget(previous)  # the session's earlier sign-in, no longer reachable
        storage.save(owner or "", tokens)
        request.environ.pop(_IDENTITIES, None)
        request.environ.pop(_FORGOTTEN, None)

    def forget_tokens(self) -> None:
        """Drop the user's tokens from :attr:`token_storage`, and the session's record of their
        sign-in (on sign-out, or when Capture ended them). Once per request: a second call
        (the refresh and the outcome both ending a session) does nothing."""
        if request.environ.get(_FORGOTTEN):
            return
        owner = self.token_owner()
        if owner is not None or self.token_storage.in_session:
            self.token_storage.forget(owner or "")
        freshness.forget(session)
        request.environ.pop(_IDENTITIES, None)
        request.environ[_FORGOTTEN] = True

    def access_token(self) -> str | None:
        """The current user's access token, refreshed first when it is about to expire and a
        refresh is possible. ``None`` when the user has none.

        :raises CaptureError: when a needed refresh failed.
        """
        return self._current_tokens()[0]

    def with_access_token(self, call: Callable[[str], T]) -> T:
        """``call(access_token)`` with the current user's access token: the one way to call
        Capture as the user. An access token about to expire is refreshed first; on Capture's
        "access token expired" (in either documented shape) the tokens are refreshed and
        ``call`` is made once more (safe: Capture refused the first call before acting)::

            identities = capture_link.with_access_token(capture_link.client.linked_identities)

        :raises NoAccessToken: when the user has no access token (nothing is sent).
        :raises SessionExpired: when it expired and there is no refresh token to renew it.
        :raises CaptureError: whatever else ``call`` or the refresh raised.
        """
        access_token, stored = self._current_tokens()
        if access_token is None:
            raise NoAccessToken
        try:
            return call(access_token)
        except AccessTokenExpired as expired:
            if stored is None or not self._can_refresh(stored):
                raise SessionExpired.instead_of(expired) from None
            return call(self._refresh(stored).access_token)

    def _current_tokens(self) -> tuple[str | None, Tokens | None]:
        """The access token to send and the stored tokens, read once; refreshed first when
        the access token is about to expire and a refresh is possible.

        A refresh ahead of time that Capture cannot answer now (it is down, busy, or failed
        inside) keeps the access token while it is still good: the user's call goes on.

        :raises SessionExpired: when the stored access token has expired and cannot be
            refreshed (no refresh token): Capture would only refuse it.
        """
        stored = self._load_tokens()
        leeway = float(current_app.config["CAPTURE_LINK_REFRESH_LEEWAY"])
        if stored is None or not stored.expired(leeway=leeway):
            return self._load_access_token(stored), stored
        if not self._can_refresh(stored):
            if stored.expired() and self._access_token_loader is None:
                raise SessionExpired("the access token expired and there is no refresh token")
            return self._load_access_token(stored), stored
        try:
            refreshed = self._refresh(stored)
        except CaptureUnavailable as exc:
            if stored.expired():
                raise
            logger.warning("refresh ahead of expiry failed, going on: %s", exc)
            return self._load_access_token(stored), stored
        return refreshed.access_token, refreshed

    def refresh_tokens(self) -> Tokens:
        """Trade the stored refresh token for new tokens, store them, and send
        ``access_token_refreshed``. A refusal of the refresh token (in any shape Capture
        documents) drops the stored tokens, so the user signs in again and the dead refresh
        token is never sent again; one that names the client credentials is logged at ERROR.
        Anything else (Capture down, busy, or failing inside) keeps them: the user may try
        again.

        :raises CaptureError: :class:`RefreshTokenInvalid` for a refusal,
            :class:`SessionExpired` when there is nothing to refresh with, or
            ``CaptureUnavailable``.
        """
        return self._refresh(self._load_tokens())

    def _refresh(self, stored: Tokens | None) -> Tokens:
        if stored is None or not self._can_refresh(stored):
            raise SessionExpired("no refresh token or client secret to refresh with")
        assert stored.refresh_token is not None  # _can_refresh says so
        client = self.client
        try:
            # Kept server side, sealed with the site's secret, while the new access token
            # lives: a request that still holds the spent refresh token takes these instead.
            tokens = self.state_store().refresh(
                stored.refresh_token,
                client.refresh,
                wait=_refresh_wait(),
                secret_keys=_secret_keys(),
            )
        except RefreshTokenInvalid as refused:
            # Any definite refusal kills the refresh token: it must never be sent again.
            self.forget_tokens()
            if isinstance(refused, ClientCredentialsRefused):
                logger.error(
                    "Capture refused the refresh for the site's client "
                    "credentials; check CAPTURE_LINK_CLIENT_ID and CAPTURE_LINK_CLIENT_SECRET "
                    "(an API client allowed to call /oauth/token): %s",
                    refused,
                )
            raise
        except CaptureAnswerLost as exc:
            # Whatever Capture did with the refresh, the call the user asked for was not made.
            raise CaptureUnavailable(exc.description) from exc
        owner = self.token_owner()
        if owner is not None or self.token_storage.in_session:
            self.token_storage.save(owner or "", tokens)
        logger.info("access token refreshed")
        signals.send(signals.access_token_refreshed, tokens=tokens)
        return tokens

    def _load_access_token(self, stored: Tokens | None) -> str | None:
        """The loader's access token when the site gave one, else the stored one."""
        if self._access_token_loader is not None:
            return self._access_token_loader()
        return stored.access_token if stored is not None else None

    def _can_refresh(self, stored: Tokens) -> bool:
        return bool(stored.refresh_token and current_app.config["CAPTURE_LINK_CLIENT_SECRET"])

    def _next(self, next: str | None) -> str | None:
        if next is None:
            return None
        safe = safe_next(next, request.host)
        if safe is None:
            logger.warning("refused a next that leads off this site")
        return safe

    def _page(self, next: str | None) -> str:
        """``next`` when safe, else this page (where a user returns after re-authenticating)."""
        here = request.full_path.rstrip("?") if request.query_string else request.path
        return (
            self._next(next)
            or safe_next(here)
            or str(current_app.config["CAPTURE_LINK_DEFAULT_NEXT"])
        )

    def _state_url(
        self, endpoint: str, purpose: str, next: str | None, provider: str | None = None
    ) -> str:
        value = state.issue(
            session, purpose, self.user_binding(), self._next(next), provider=provider
        )
        return url_for(endpoint, state=value, _external=True)

    def _state(self, app: Flask, *, check: bool = True) -> _AppState:
        found = self._apps.get(app)
        if found is None:
            raise RuntimeError("CaptureLink.init_app was not called for this app")
        if check and found.deferred:  # init_app let the config wait: its first use is now
            config.apply_defaults(app.config)
            config.validate(app.config)
            found.deferred = False
        return found

    def _redis_client(self, app: Flask, found: _AppState) -> Any:
        """The Redis client of ``app``'s state store, or ``None`` for the in-process one."""
        if found.redis is not None:
            return found.redis
        given = app.config.get("CAPTURE_LINK_REDIS")
        if given is not None:
            return given
        url = app.config.get("CAPTURE_LINK_REDIS_URL")
        if url:
            client = found.redis_by_url.get(url)  # every request: no lock once it exists
            if client is None:
                with found.lock:
                    client = found.redis_by_url.get(url)
                    if client is None:
                        client = found.redis_by_url[url] = _redis_from_url(str(url))
            return client
        return integrations.flask_session_redis(app)


class _AppState:
    """What the extension keeps for one app: its client (with the settings it was built from),
    the URL prefix its views were registered under, its in-process state store, and the Redis
    clients and stores it made."""

    def __init__(self, url_prefix: str, redis: Any) -> None:
        self.lock = threading.Lock()
        self.url_prefix = url_prefix
        #: The Redis client given to the extension, if any.
        self.redis = redis
        self.client: tuple[tuple[Any, ...], CaptureClient] | None = None
        self.memory_store = MemoryStateStore()
        #: Whether the "single use holds per process only" warning was given at a request.
        self.warned = False
        self.redis_by_url: dict[str, Any] = {}
        self.redis_stores: dict[tuple[int, str], RedisStateStore] = {}
        #: Whether init_app let wrong settings wait for the first use (TESTING, a command).
        self.deferred = False
        #: The app's own token storage and hooks, winning over the extension's.
        self.token_storage: TokenStorage | None = None
        self.hooks: dict[str, Callable[..., Any]] = {}


def _in_flask_command() -> bool:
    """Whether a ``flask`` command (a click command) is loading the app now."""
    import click

    return click.get_current_context(silent=True) is not None


def default_unlink_allowed(identity: LinkedIdentity, identities: Sequence[LinkedIdentity]) -> bool:
    """No lock-out on unlink: allow unless ``identity`` is the last one and the session did not
    sign in with a password (tokens from :meth:`CaptureClient.sign_in` stored with
    ``store_tokens``): only then is it known that the account has another way in. A user whose
    account has no password signs in only with their linked identities."""
    others = [other for other in identities if other.identifier != identity.identifier]
    return bool(others) or freshness.signed_in_with_password()


def per_process_warning(source: str) -> str:
    """What to say when several worker processes (``source`` says what tells so) share no
    state store."""
    return (
        f"more than one worker process is likely ({source}), but there is no Redis for link "
        "states: single use of a link state (and refresh sharing) holds per process only. Set "
        "CAPTURE_LINK_REDIS_URL (or give CaptureLink a redis client)."
    )


def build_client(app_config: Mapping[str, Any]) -> CaptureClient:
    """A :class:`CaptureClient` from ``CAPTURE_LINK_*`` settings."""
    use_default = bool(app_config["CAPTURE_LINK_USE_CLIENT_DEFAULT_FLOW"])
    timeout = app_config["CAPTURE_LINK_TIMEOUT"]
    return CaptureClient(
        app_config["CAPTURE_LINK_DOMAIN"],
        app_config["CAPTURE_LINK_CLIENT_ID"],
        flow=None if use_default else app_config["CAPTURE_LINK_FLOW"],
        flow_version=None if use_default else app_config["CAPTURE_LINK_FLOW_VERSION"],
        # The default of calls that name none (a site's own sign-in): one the flow has.
        locale=config.nearest_locale(
            str(app_config["CAPTURE_LINK_LOCALE"]).replace("_", "-"),
            config.flow_locales(app_config.get("CAPTURE_LINK_FLOW_LOCALES"))
            or [str(app_config["CAPTURE_LINK_LOCALE"]).replace("_", "-")],
        ),
        redirect_uri=app_config["CAPTURE_LINK_REDIRECT_URI"],
        link_path=app_config["CAPTURE_LINK_LINK_PATH"],
        timeout=tuple(timeout) if isinstance(timeout, (list, tuple)) else timeout,
        verify=app_config["CAPTURE_LINK_CA_BUNDLE"] or True,
        client_secret=app_config["CAPTURE_LINK_CLIENT_SECRET"] or None,
        token_client_id=app_config["CAPTURE_LINK_TOKEN_CLIENT_ID"] or None,
    )


def _client_settings(app_config: Mapping[str, Any]) -> tuple[Any, ...]:
    """The values the client and the views' registration depend on, as they are now (one
    C-level lookup of each key: this runs on every use of the client)."""
    try:
        found: tuple[Any, ...] = _read_client_settings(app_config)
    except KeyError:  # a key removed after init_app: None, so the check names it
        return tuple(app_config.get(key) for key in (*CLIENT_KEYS, _URL_PREFIX))
    return found


def _frozen(settings: tuple[Any, ...]) -> tuple[Any, ...]:
    """``settings`` with each list copied, so a list changed in place later compares unequal."""
    return tuple(list(value) if isinstance(value, list) else value for value in settings)


def _redis_from_url(url: str) -> Any:
    """A Redis client for ``CAPTURE_LINK_REDIS_URL`` that tries a command twice at most, at
    once: redis-py's default (ten tries with backoff) would hold every token URL request for
    seconds while Redis is down. A second ``SET NX`` of a spend is safe (see
    :mod:`flask_capture_link.store.redis`)."""
    import redis
    from redis.backoff import NoBackoff
    from redis.retry import Retry

    return redis.Redis.from_url(url, retry=Retry(NoBackoff(), 1))


def _refresh_wait() -> float:
    """Seconds a refresh may take: the Capture timeout (connect + read) and a margin."""
    timeout = current_app.config["CAPTURE_LINK_TIMEOUT"]
    seconds = sum(timeout) if isinstance(timeout, (list, tuple)) else float(timeout)
    return float(seconds) + 2.0
