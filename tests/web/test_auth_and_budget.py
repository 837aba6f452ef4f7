"""Who is calling, signed links, and budgets — against a local Google token issuer and a real
Redis server."""
from __future__ import annotations

import threading
import time

import pytest

from server.auth import Authenticator, NotAuthenticated
from server.config import Settings
from server.links import BadLink, Signer
from server.money.budget import Budgets
from testkit.fakes.google_auth import FakeGoogleAuth


@pytest.fixture(scope="module")
def issuer():
    with FakeGoogleAuth() as fake:
        yield fake


@pytest.fixture
def auth(issuer):
    return Authenticator(Settings(google_client_ids=(issuer.audience,),
                                  google_certs_url=issuer.certs_url,
                                  google_tokeninfo_url=issuer.tokeninfo_url))


def test_identity_and_access_tokens_name_the_caller(auth, issuer):
    assert auth.identify(f"Bearer {issuer.identity_token('Alice@Example.com')}").email == \
        "alice@example.com"
    assert auth.identify(f"Bearer {issuer.access_token('bob@example.com')}").email == \
        "bob@example.com"


def test_verified_access_tokens_are_cached(auth, issuer):
    token = issuer.access_token("carol@example.com")
    before = issuer.tokeninfo_calls
    for _ in range(5):
        auth.identify(f"Bearer {token}")
    assert issuer.tokeninfo_calls == before + 1


def test_every_listed_audience_is_accepted(issuer):
    """A test deployment and the published add-on are two Apps Script projects, two client ids."""
    auth = Authenticator(Settings(google_client_ids=("test-deployment", issuer.audience),
                                  google_certs_url=issuer.certs_url,
                                  google_tokeninfo_url=issuer.tokeninfo_url))
    for audience in ("test-deployment", issuer.audience):
        token = issuer.identity_token("dana@example.com", audience=audience)
        assert auth.identify(f"Bearer {token}").email == "dana@example.com"
    with pytest.raises(NotAuthenticated, match="'published-elsewhere'"):
        auth.identify("Bearer " + issuer.identity_token("e@x.com", audience="published-elsewhere"))


def test_the_audience_list_is_read_from_a_comma_separated_setting(monkeypatch):
    monkeypatch.setenv("GOOGLE_CLIENT_ID",
                       "one.apps.googleusercontent.com, two.apps.googleusercontent.com")
    assert Settings.from_env().google_client_ids == ("one.apps.googleusercontent.com",
                                                     "two.apps.googleusercontent.com")


@pytest.mark.parametrize("make, reason", [
    (lambda i: None, "Sign in required"),
    (lambda i: "Basic abc", "Sign in required"),
    (lambda i: "Bearer not-a-google-token", "not valid"),
    (lambda i: "Bearer " + i.identity_token("e@x.com", audience="another-app"),
     "OAuth client 'another-app'.*GOOGLE_CLIENT_ID"),
    (lambda i: "Bearer " + i.identity_token("e@x.com", issuer="https://evil.example"), "issued"),
    (lambda i: "Bearer " + i.identity_token("e@x.com", expires_in=-120), "expired"),
    (lambda i: "Bearer " + i.identity_token("e@x.com", verified=False), "verified email"),
    (lambda i: "Bearer " + i.identity_token("e@x.com")[:-4] + "AAAA", "refused"),
], ids=["none", "basic", "unknown-access", "audience", "issuer", "expired", "unverified",
        "bad-signature"])
def test_bad_tokens_are_refused(auth, issuer, make, reason):
    with pytest.raises(NotAuthenticated, match=reason):
        auth.identify(make(issuer))


def test_identity_tokens_need_a_configured_audience(issuer):
    unconfigured = Authenticator(Settings(google_certs_url=issuer.certs_url))
    with pytest.raises(NotAuthenticated, match="GOOGLE_CLIENT_ID"):
        unconfigured.identify(f"Bearer {issuer.identity_token('a@x.com')}")


def test_signed_links_expire_and_cannot_be_forged(monkeypatch):
    signer = Signer("secret")
    token = signer.zip_token("b1", "alice@example.com")
    assert signer.read_zip(token) == {"b": "b1", "u": "alice@example.com"}
    with pytest.raises(BadLink):
        Signer("another-secret").read_zip(token)
    with pytest.raises(BadLink):
        signer.read_zip(token[:-2] + "xx")
    private = signer.image_token("b1", "0002_1_x.png", private=True)
    lasting = signer.image_token("b1", "0002_1_x.png", private=False)
    assert signer.read_image(private)["n"] == signer.read_image(lasting)["n"] == "0002_1_x.png"
    later = time.time() + 8 * 24 * 3600
    monkeypatch.setattr(time, "time", lambda: later)
    with pytest.raises(BadLink, match="expired"):
        signer.read_image(private)
    with pytest.raises(BadLink, match="expired"):
        signer.read_zip(token)
    assert signer.read_image(lasting)["b"] == "b1"  # thumbnails inside =IMAGE() keep working


def test_concurrent_reservations_cannot_pass_the_limit_together(redis_conn):
    budgets = Budgets(redis_conn, monthly_limit=1.0)
    results = []
    barrier = threading.Barrier(10)

    def start(n):
        barrier.wait()
        results.append(budgets.reserve("alice", f"sb:b:batch{n}", 0.3))

    threads = [threading.Thread(target=start, args=(n,)) for n in range(10)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert results.count(True) == 3
    state = budgets.state("alice")
    assert state.reserved == pytest.approx(0.9) and state.available == pytest.approx(0.1)


def test_settlement_charges_what_was_made_and_gives_back_the_rest(redis_conn):
    budgets = Budgets(redis_conn, monthly_limit=2.0)
    assert budgets.reserve("alice", "sb:b:one", 1.2)
    budgets.settle("sb:b:one", 0.3)  # stopped after a quarter of the images
    state = budgets.state("alice")
    assert state.spent == pytest.approx(0.3) and state.reserved == pytest.approx(0.0)
    budgets.settle("sb:b:one", 0.3)  # settling twice charges once
    assert budgets.state("alice").spent == pytest.approx(0.3)
    assert budgets.reserve("alice", "sb:b:one", 0.9)  # resume reserves the rest again
    budgets.settle("sb:b:one", 1.2)
    assert budgets.state("alice").spent == pytest.approx(1.2)
    assert not budgets.reserve("alice", "sb:b:two", 0.9)
    assert budgets.state("bob").available == pytest.approx(2.0)
