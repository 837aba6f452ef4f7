"""Fixtures shared by the page tests in real headless Chromium (`test_*_browser.py`,
`test_where_things_stand.py`)."""
from __future__ import annotations

import pytest

# Notifications are recorded as the page raises them (headless Chromium shows none).
RECORD_NOTIFICATIONS = """
window.__notes = [];
if (window.Notification) {
  const Real = window.Notification;
  const Recording = function (title, options) {
    window.__notes.push({title: title, body: options && options.body});
    return new Real(title, options);
  };
  Object.defineProperty(Recording, "permission", {get: () => Real.permission});
  Recording.requestPermission = Real.requestPermission.bind(Real);
  window.Notification = Recording;
}
"""


def pages_settings(google) -> dict:
    """What the web pages add to `backend_env`: Google's sign-in script from the fake, and a
    monthly budget."""
    return {"GOOGLE_GSI_CLIENT_URL": f"{google.url}/gsi/client", "SHEETBATCH_MONTHLY_BUDGET": "50"}


@pytest.fixture
def new_page(browser, backend):
    """Opens a page of `backend` in a fresh browser context (downloads accepted, dialogs
    confirmed); `notifications=True` grants them and records each one in `window.__notes`."""
    contexts = []

    def opener(notifications: bool = False):
        context = browser.new_context(accept_downloads=True, base_url=backend,
                                      viewport={"width": 1280, "height": 900})
        if notifications:
            context.grant_permissions(["notifications"], origin=backend)
            context.add_init_script(RECORD_NOTIFICATIONS)
        contexts.append(context)
        page = context.new_page()
        page.on("dialog", lambda dialog: dialog.accept())
        return page

    yield opener
    for context in contexts:
        context.close()
