"""Who is using the web pages: Google sign-in (the same identity as the add-in), kept in a
Flask session cookie, or the one local person in single-user mode.

Sign-in follows Google Identity Services: the page loads Google's script, which hands the
person's ID token (`credential`) to our login endpoint in a form POST together with
`g_csrf_token`, also set as a cookie (a double-submit check, as Google documents). The token is
verified server-side with google-auth, exactly like the add-in's identity tokens.
"""
from __future__ import annotations

import hmac
import ipaddress
import re
import secrets
from functools import wraps
from urllib.parse import urlsplit

from flask import (
    Blueprint,
    abort,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask.sessions import SecureCookieSessionInterface

from server.auth import NotAuthenticated, is_jwt
from server.batches import keys
from server.config import LOOPBACK_HOSTS
from server.web.app import public_root, services

blueprint = Blueprint("signin", __name__)
CONTROL = re.compile(r"[\x00-\x1f\x7f\s]")  # control characters and every kind of space
LOCAL_PERSON = "you@localhost"
SESSION_DAYS = 14


class SessionInterface(SecureCookieSessionInterface):
    """The session cookie is Secure whenever the request came over HTTPS as Flask sees it, so
    a plain-HTTP localhost install still works. (Behind a TLS-terminating proxy, Flask sees
    HTTPS only when the deployment trusts the proxy's X-Forwarded-Proto, e.g. with ProxyFix.)"""

    def get_cookie_secure(self, app) -> bool:
        return request.is_secure or super().get_cookie_secure(app)


# Headers some proxy or CDN adds: a request carrying any of them (or any X-Forwarded-*) came
# through something that others may reach, so single-user mode does not answer it.
PROXY_HEADERS = ("forwarded", "via", "x-real-ip", "cf-connecting-ip", "true-client-ip",
                 "fastly-client-ip", "x-client-ip", "x-cluster-client-ip", "client-ip",
                 "x-original-forwarded-for", "x-proxyuser-ip")
NOT_THIS_COMPUTER = ("This sheetbatch runs in single-user mode and only answers this computer, "
                     "at http://127.0.0.1 or http://localhost. Set GOOGLE_CLIENT_ID to let people "
                     "sign in.")


def current_person() -> str | None:
    """The signed-in person's email (the local person in single-user mode), or None."""
    if services().settings.single_user_mode:
        if not from_this_computer():
            abort(403, NOT_THIS_COMPUTER)
        remember_handle(LOCAL_PERSON)
        return LOCAL_PERSON
    return session_person()


def session_person() -> str | None:
    """The email of the session cookie, while its session lives in Redis (a copied cookie dies
    with the sign-out, or after SESSION_DAYS)."""
    email, session_id = session.get("email"), session.get("sid")
    if not email or not session_id:
        return None
    stored = services().redis.get(keys.web_session(session_id))
    if stored is None or stored.decode() != email:
        session.clear()
        return None
    return email


@blueprint.before_app_request
def only_this_computer_in_single_user_mode():
    """In single-user mode nothing is answered to anyone else: not a page of another Host (a
    web page the person visits can point its own name at 127.0.0.1: DNS rebinding), not a
    request any proxy passed on."""
    if services().settings.single_user_mode and not from_this_computer():
        abort(403, NOT_THIS_COMPUTER)


def from_this_computer() -> bool:
    """A request from a loopback address, to one of the loopback names we listen on, that no
    proxy forwarded."""
    names = {name.lower() for name in request.headers.keys()}
    if names & set(PROXY_HEADERS) or any(name.startswith("x-forwarded-") for name in names):
        return False
    if request.headers.get("Host", "").lower() not in loopback_hosts():
        return False
    try:
        return ipaddress.ip_address(request.remote_addr or "").is_loopback
    except ValueError:
        return False


def loopback_hosts() -> set[str]:
    """Host values this computer's browser sends us: a loopback name, with our port or none."""
    port = services().settings.bind.rpartition(":")[2]
    names = {f"[{name}]" if ":" in name else name for name in LOOPBACK_HOSTS}
    return names | {f"{name}:{port}" for name in names}


def signed_in(view):
    """Pages for a signed-in person; anyone else goes to the sign-in page."""
    @wraps(view)
    def wrapper(*args, **kwargs):
        if current_person() is None:
            return redirect(url_for("signin.signin_page", next=request.full_path.rstrip("?")))
        return view(*args, **kwargs)
    return wrapper


def public_handle(email: str) -> str:
    """The person's public gallery name: unguessable from the email, stable for ever."""
    return services().signer.public_handle(email)


def remember_handle(email: str) -> str:
    handle = public_handle(email)
    services().redis.set(keys.public_handle(handle), email)
    return handle


def owner_of_handle(handle: str) -> str | None:
    email = services().redis.get(keys.public_handle(handle))
    return email.decode() if email else None


def safe_next(target: str | None) -> str:
    """Only a path on this site may follow a sign-in. Browsers drop tabs and line breaks from a
    URL and read a backslash as a slash, so `/\t/evil.example` or `/\\evil.example` would be
    `//evil.example`, another site: a target with any of them is refused, and line breaks (which
    no header may hold) make the whole request a 400."""
    if not target:
        return url_for("pages.batch_page")
    if "\r" in target or "\n" in target:
        abort(400, "This link holds a line break, which no link may; open the page again.")
    parts = urlsplit(target)
    if (not target.startswith("/") or target.startswith("//") or "\\" in target
            or CONTROL.search(target) or parts.scheme or parts.netloc):
        return url_for("pages.batch_page")
    return target


@blueprint.get("/signin")
def signin_page():
    settings = services().settings
    target = safe_next(request.args.get("next"))
    if current_person():
        return redirect(target)
    return render_template("signin.html", client_id=settings.web_client_id,
                           gsi_url=settings.google_gsi_client_url, login_uri=login_uri(target))


def login_uri(target: str) -> str:
    """Where Google posts the sign-in: our public address (never the request's Host)."""
    return public_root() + url_for("signin.google_callback", next=target).lstrip("/")


@blueprint.post("/signin/google")
def google_callback():
    """Google Identity Services posts `credential` (an ID token) and `g_csrf_token` here."""
    cookie = request.cookies.get("g_csrf_token", "")
    posted = request.form.get("g_csrf_token", "")
    if not cookie or not hmac.compare_digest(cookie.encode(), posted.encode()):
        return signin_problem("The sign-in could not be checked (the browser did not send "
                              "Google's check). Try again.")
    credential = request.form.get("credential", "")
    if not is_jwt(credential):
        return signin_problem("Google did not send a sign-in token. Try again.")
    try:
        caller = services().auth.identify(f"Bearer {credential}")
    except NotAuthenticated as error:
        return signin_problem(f"Google's sign-in was refused: {error}")
    session.clear()
    session.permanent = True
    session_id = secrets.token_urlsafe(24)
    services().redis.set(keys.web_session(session_id), caller.email, ex=SESSION_DAYS * 86400)
    session.update(email=caller.email, sid=session_id)
    remember_handle(caller.email)
    return redirect(safe_next(request.args.get("next")), code=303)


def signin_problem(message: str):
    settings = services().settings
    return render_template("signin.html", client_id=settings.web_client_id,
                           gsi_url=settings.google_gsi_client_url, problem=message,
                           login_uri=login_uri(safe_next(request.args.get("next")))), 400


@blueprint.post("/signout")
def signout():
    if session.get("sid"):
        services().redis.delete(keys.web_session(session["sid"]))
    session.clear()
    return redirect(url_for("signin.signin_page"), code=303)


@blueprint.app_context_processor
def who_is_here() -> dict:
    """Every page knows who is signed in (None for a visitor, never an error page's error)."""
    settings = services().settings
    if settings.single_user_mode:
        person = LOCAL_PERSON if from_this_computer() else None
    else:
        person = session_person()
    return {"person": person, "single_user": settings.single_user_mode}
