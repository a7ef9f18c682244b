"""A person clicks through the privacy centre in headless Chromium (Playwright).

Run by tests/tests/suite/centre.rs with one JSON argument; prints one JSON
line of what it saw. Every step waits for what the page shows, never for a
fixed time; a step that does not happen within 15 s fails the run.
"""

import base64
import email
import hashlib
import hmac
import json
import pathlib
import re
import struct
import sys
import time
from email import policy

from playwright.sync_api import expect, sync_playwright

cfg = json.loads(sys.argv[1])
# As the machine's probe starts Chromium: no sandbox as root, and none of the
# background connections this closed network refuses.
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def mailed_code(to, count):
    """The code of the `count`-th mail to `to` (waiting for it)."""
    deadline = time.time() + 15
    while time.time() < deadline:
        mails = []
        for path in pathlib.Path(cfg["mail_dir"]).glob("*.eml"):
            message = email.message_from_bytes(path.read_bytes(), policy=policy.default)
            if to in str(message["To"]):
                mails.append((path.stat().st_mtime, message))
        mails.sort(key=lambda m: m[0])
        if len(mails) >= count:
            text = mails[count - 1][1].get_body(preferencelist=("plain",)).get_content()
            for line in text.splitlines():
                if line.strip().startswith("Code: "):
                    return line.strip()[len("Code: "):].strip()
        time.sleep(0.1)
    raise SystemExit(f"no mail #{count} to {to}")


def totp(secret, at):
    """RFC 6238 (SHA-1, 6 digits, 30 s), as an authenticator app computes it."""
    key = base64.b32decode(secret + "=" * (-len(secret) % 8))
    digest = hmac.new(key, struct.pack(">Q", int(at // 30)), hashlib.sha1).digest()
    offset = digest[-1] & 15
    return f"{(struct.unpack('>I', digest[offset:offset + 4])[0] & 0x7FFFFFFF) % 1_000_000:06d}"


def sign_in(page, identifier_label, password_label, button, address=None):
    page.get_by_label(identifier_label).fill(address or cfg["email"])
    page.get_by_label(password_label, exact=True).fill(cfg["password"])
    page.get_by_role("button", name=button, exact=True).click()


seen = {}
problems = []


def run():
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=cfg["chromium"], args=ARGS, headless=True)
        english = browser.new_context(locale="en-GB", accept_downloads=True)
        page = english.new_page()
        page.set_default_timeout(15000)
        english.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
        english.on("weberror", lambda e: problems.append(str(e.error)))

        # The link from the verification mail verifies the address.
        page.goto(cfg["verify_link"])
        expect(page.get_by_role("status")).to_contain_text("Your e-mail address is verified")
        seen["fragment_cleared"] = "#" not in page.url

        # Signing in shows the person's own details.
        sign_in(page, "E-mail address or username", "Password", "Sign in")
        expect(page.get_by_role("heading", name="Your details")).to_be_visible()
        expect(page.get_by_label("First name")).to_have_value(cfg["first_name"])
        seen["policy"] = page.locator("#policy-list h3").first.inner_text()

        # A consent is given with one click, and the page shows the new choice.
        row = page.locator(f'li[data-purpose="{cfg["purpose"]}"]')
        row.get_by_role("button", name=re.compile("^Give consent")).click()
        expect(row.locator(".choice")).to_have_text("you gave consent")
        expect(page.get_by_role("status")).to_have_text("Your choice is saved.")

        # The export downloads as a file with the person's data in it.
        with page.expect_download() as info:
            page.get_by_role("button", name="Download my data (JSON)").click()
        download = info.value
        exported = json.loads(pathlib.Path(download.path()).read_text())
        seen["export_file"] = download.suggested_filename
        seen["export_has_email"] = cfg["email"] in json.dumps(exported)
        seen["export_format"] = exported.get("format")

        page.screenshot(path=cfg["screenshot"], full_page=True)

        # A second device, in Dutch: the unfamiliar device steps up with a code
        # mailed to the (now verified) address.
        phone = (
            "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 "
            "(KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1"
        )
        dutch = browser.new_context(locale="nl-NL", user_agent=phone, viewport={"width": 390, "height": 844})
        dutch.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
        dutch.on("weberror", lambda e: problems.append(str(e.error)))
        other = dutch.new_page()
        other.set_default_timeout(15000)
        other.goto(cfg["centre"])
        expect(other.get_by_role("heading", name="Inloggen")).to_be_visible()
        sign_in(other, "E-mailadres of gebruikersnaam", "Wachtwoord", "Inloggen")
        expect(other.get_by_label("Code uit de e-mail")).to_be_visible()
        other.get_by_label("Code uit de e-mail").fill(mailed_code(cfg["email"], cfg["mails_before"] + 1))
        other.get_by_role("button", name="Verder").click()
        expect(other.get_by_role("heading", name="Je gegevens", exact=True)).to_be_visible()
        seen["dutch_lang"] = other.evaluate("document.documentElement.lang")

        # A person with two-step verification answers the TOTP step (the
        # next window's code: the current one was spent on enrolling).
        second = browser.new_context(locale="en-GB")
        two = second.new_page()
        two.set_default_timeout(15000)
        two.goto(cfg["centre"])
        sign_in(two, "E-mail address or username", "Password", "Sign in", cfg["totp_email"])
        expect(two.get_by_text("Enter the code from your authenticator app")).to_be_visible()
        two.get_by_label("Code", exact=True).fill(totp(cfg["totp_secret"], time.time() + 30))
        two.get_by_role("button", name="Continue").click()
        expect(two.get_by_role("heading", name="Your details")).to_be_visible()
        seen["totp_signed_in"] = two.get_by_label("First name").input_value()

        # Erasure is asked for after a confirmation, and shows when it happens.
        page.get_by_role("button", name="Erase my account…").click()
        page.get_by_role("button", name="Yes, erase my account").click()
        expect(page.locator("#erasure-when")).to_contain_text("will be erased on")
        seen["console_errors"] = problems
        browser.close()


try:
    run()
except Exception:
    # What the pages logged tells why a step did not happen.
    print(json.dumps({"console_errors": problems}), file=sys.stderr)
    raise
print(json.dumps(seen))
