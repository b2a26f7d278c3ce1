#!/usr/bin/python3
"""e2e.py -- updater/oidc.c and httpc.c against a real OpenID provider.

Starts test/browser/oidc-provider.mjs (npm oidc-provider 8.x) on a free
loopback port and test/unit/oidc-probe (a driver of oidc.c), then plays
the browser's part with urllib: follows the authorization URL the probe
built, signs in on the provider's pages, and hands the redirect back to
the probe.  Checks discovery, JWKS, the browser binding, the code exchange with PKCE
(client_secret_basic with RS256 keys, then client_secret_post with
ES256), ID token verification (good, and each spoiled token the provider
can send), userinfo claims and groups, state replay, a denied login, and
bearer access tokens at userinfo (a good one, a forged one).

Run by hand (needs node and `npm ci` in test/browser):
    /usr/bin/python3 test/oidc/e2e.py [--probe build/test/unit/oidc-probe]
Prints "ok"/"not ok" lines and "N passed, N failed"; exit 1 on failure.
"""

import argparse
import base64
import hashlib
import html.parser
import http.cookiejar
import json
import os
import re
import secrets
import select
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
BROWSER = os.path.join(REPO, "test", "browser")
USERS = os.path.join(BROWSER, "fixtures", "oidc-users.json")
CLIENT = "ddns"
SECRET = "e2e-" + secrets.token_hex(16)
REDIRECT = "http://127.0.0.1:9/oidc/callback"  # never contacted
ADMIN_GROUP = "urn:mace:egi.eu:group:vo.example.org:role=member#aai.egi.eu"
PASSWORDS = {"alice": "alice-test-password", "bob": "bob-test-password"}

# oidc.h / jwt.h codes
E = {"ESTATE": -130, "EDENIED": -131, "EUNAUTHORIZED": -137,
     "ESIG": -106, "EEXPIRED": -110, "EAUD": -108, "EISS": -107,
     "ENONCE": -112, "EALG": -103}
SPOILED = [("wrong-key", "ESIG"), ("expired", "EEXPIRED"),
           ("wrong-aud", "EAUD"), ("wrong-iss", "EISS"),
           ("bad-nonce", "ENONCE"), ("alg-none", "EALG")]

results = {"passed": 0, "failed": 0}


def check(name, cond, detail=""):
    if cond:
        results["passed"] += 1
        print("ok - " + name)
    else:
        results["failed"] += 1
        print("not ok - %s %s" % (name, detail))


def clean_env():
    env = {k: v for k, v in os.environ.items()
           if not k.lower().endswith("_proxy")}
    env["LC_ALL"] = "C"
    return env


def readline(proc, deadline):
    """One stdout line of PROC before DEADLINE (time.monotonic())."""
    buf = b""
    fd = proc.stdout.fileno()
    while not buf.endswith(b"\n"):
        left = deadline - time.monotonic()
        if left <= 0 or proc.poll() is not None:
            raise RuntimeError("no line from pid %d (got %r)" % (proc.pid, buf))
        ready, _, _ = select.select([fd], [], [], left)
        if ready:
            chunk = os.read(fd, 1)
            if not chunk:
                raise RuntimeError("pid %d closed stdout" % proc.pid)
            buf += chunk
    return buf.decode()


def stop(proc):
    if proc and proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)


class Provider:
    def __init__(self, tmp, alg, auth):
        self.log = open(os.path.join(tmp, "provider-%s.log" % alg), "w")
        argv = ["node", os.path.join(BROWSER, "oidc-provider.mjs"),
                "--port", "0", "--users", USERS, "--client-id", CLIENT,
                "--client-secret", SECRET, "--redirect-uri", REDIRECT,
                "--alg", alg, "--auth-method", auth]
        self.proc = subprocess.Popen(argv, cwd=BROWSER, env=clean_env(),
                                     stdout=subprocess.PIPE,
                                     stderr=self.log)
        line = readline(self.proc, time.monotonic() + 20)
        m = re.match(r"oidc-provider ready (\{.*\})", line)
        if not m:
            raise RuntimeError("provider said %r" % line)
        self.issuer = json.loads(m.group(1))["issuer"]

    def mode(self, mode):
        req = urllib.request.Request(
            self.issuer + "/test-control/id-token-mode?mode=" + mode,
            data=b"", method="POST")
        with Browser().opener.open(req, timeout=10) as r:
            return json.load(r)["mode"] == mode

    def close(self):
        stop(self.proc)
        self.log.close()


class Probe:
    def __init__(self, path, tmp, issuer, token_auth):
        secret_file = os.path.join(tmp, "secret")
        with open(secret_file, "w") as f:
            f.write(SECRET + "\n")
        self.log = open(os.path.join(tmp, "probe.log"), "a")
        argv = [path, "--issuer", issuer, "--client-id", CLIENT,
                "--client-secret-file", secret_file,
                "--redirect-uri", REDIRECT,
                "--scopes", "openid profile email eduperson_entitlement",
                "--groups-claim", "eduperson_entitlement",
                "--admin-group", ADMIN_GROUP, "--token-auth", token_auth]
        self.proc = subprocess.Popen(argv, env=clean_env(),
                                     stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, stderr=self.log)

    def ask(self, line):
        self.proc.stdin.write((line + "\n").encode())
        self.proc.stdin.flush()
        return json.loads(readline(self.proc, time.monotonic() + 20))

    def close(self):
        if self.proc.poll() is None:
            self.proc.stdin.write(b"quit\n")
            self.proc.stdin.flush()
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                pass
        stop(self.proc)
        self.log.close()


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


class FormParser(html.parser.HTMLParser):
    """The first form of a page: its action and input fields."""

    def __init__(self):
        super().__init__()
        self.action, self.fields, self.done = None, {}, False

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "form" and self.action is None and not self.done:
            self.action = a.get("action")
        elif tag == "input" and self.action and not self.done:
            self.fields[a.get("name")] = a.get("value", "")

    def handle_endtag(self, tag):
        if tag == "form" and self.action:
            self.done = True


class Browser:
    """A cookie jar, no proxies, redirects seen one by one."""

    def __init__(self):
        self.opener = urllib.request.build_opener(
            urllib.request.ProxyHandler({}), NoRedirect(),
            urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()))

    def fetch(self, url, form=None):
        data = urllib.parse.urlencode(form).encode() if form else None
        try:
            with self.opener.open(url, data=data, timeout=10) as r:
                return r.status, r.headers, r.read().decode()
        except urllib.error.HTTPError as e:
            return e.code, e.headers, e.read().decode()

    def authorize(self, url, user, abort=False):
        """Follow URL through the provider's pages as USER; the query of
        the redirect to REDIRECT, or None."""
        form = None
        for _ in range(12):
            status, headers, body = self.fetch(url, form)
            form = None
            if status in (302, 303):
                url = urllib.parse.urljoin(url, headers["Location"])
                if url.startswith(REDIRECT):
                    return urllib.parse.urlsplit(url).query
                continue
            if status != 200:
                return None
            if abort:
                url = urllib.parse.urljoin(url, url.split("?")[0] + "/abort")
                continue
            p = FormParser()
            p.feed(body)
            if not p.action:
                return None
            form = dict(p.fields)
            if "login" in form:
                form.update(login=user, password=PASSWORDS[user])
            url = urllib.parse.urljoin(url, p.action)
        return None


def login(probe, browser, user, ret="/", extra="", cookie=None):
    """A whole login; COOKIE replaces the browser-binding cookie."""
    r = probe.ask("begin " + ret)
    if r.get("err") != 0:
        return r
    binding = cookie or r["binding"]
    query = browser.authorize(r["url"] + extra, user,
                              abort=extra == "&prompt=login")
    if query is None:
        return {"err": "no redirect back"}
    r = probe.ask("finish %s %s" % (binding, query))
    r["query"], r["binding"] = query, binding
    return r


def access_token(browser, issuer, auth):
    """An access token of the signed-in user, got by this script acting as
    a client of its own (PKCE, the same client registration)."""
    verifier = secrets.token_urlsafe(32)
    challenge = base64.urlsafe_b64encode(
        hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    q = urllib.parse.urlencode({
        "response_type": "code", "client_id": CLIENT,
        "redirect_uri": REDIRECT,
        "scope": "openid profile email eduperson_entitlement",
        "state": secrets.token_urlsafe(16), "nonce": secrets.token_urlsafe(16),
        "code_challenge": challenge, "code_challenge_method": "S256"})
    back = browser.authorize(issuer + "/auth?" + q, "alice")
    code = urllib.parse.parse_qs(back)["code"][0]
    form = {"grant_type": "authorization_code", "code": code,
            "redirect_uri": REDIRECT, "code_verifier": verifier}
    req = urllib.request.Request(issuer + "/token", method="POST")
    if auth == "client_secret_post":
        form.update(client_id=CLIENT, client_secret=SECRET)
    else:
        basic = base64.b64encode(("%s:%s" % (CLIENT, SECRET)).encode())
        req.add_header("Authorization", "Basic " + basic.decode())
    req.data = urllib.parse.urlencode(form).encode()
    with Browser().opener.open(req, timeout=10) as r:
        return json.load(r)["access_token"]


def scenario(args, tmp, alg, auth):
    tag = "%s/%s" % (alg, auth)
    prov = probe = None
    try:
        prov = Provider(tmp, alg, auth)
        probe = Probe(args.probe, tmp, prov.issuer, auth)
        alice = Browser()
        r = login(probe, alice, "alice", "/hosts?fqdn=a.example.org")
        ident = r.get("identity", {})
        check(tag + ": alice logs in", r.get("err") == 0, r)
        check(tag + ": identity from ID token and userinfo",
              ident.get("issuer") == prov.issuer
              and ident.get("subject") == "alice"
              and ident.get("name") == "Alice Example"
              and ident.get("email") == "alice@example.org"
              and ident.get("email_verified") is True, ident)
        check(tag + ": entitlement mapped to groups, admin group",
              ident.get("groups") == [ADMIN_GROUP]
              and ident.get("admin") is True, ident)
        check(tag + ": return path kept",
              r.get("return_to") == "/hosts?fqdn=a.example.org", r)
        if "query" in r:
            again = probe.ask("finish %s %s" % (r["binding"], r["query"]))
            check(tag + ": replayed redirect refused (state used up)",
                  again.get("err") == E["ESTATE"], again)
        r = login(probe, alice, "alice", cookie="another-browser")
        check(tag + ": reply carried to another browser refused",
              r.get("err") == E["ESTATE"], r)
        bob = login(probe, Browser(), "bob")
        check(tag + ": bob logs in without groups",
              bob.get("err") == 0
              and bob.get("identity", {}).get("groups") == []
              and bob["identity"]["admin"] is False, bob)
        for mode, code in SPOILED:
            prov.mode(mode)
            r = login(probe, alice, "alice")
            check("%s: %s ID token refused (%s)" % (tag, mode, code),
                  r.get("err") == E[code], r)
        prov.mode("valid")
        r = login(probe, alice, "alice", extra="&prompt=login")
        check(tag + ": login the user aborts refused",
              r.get("err") == E["EDENIED"], r)
        token = access_token(alice, prov.issuer, auth)
        r = probe.ask("bearer " + token)
        check(tag + ": access token accepted via userinfo",
              r.get("err") == 0
              and r.get("identity", {}).get("subject") == "alice"
              and r["identity"]["groups"] == [ADMIN_GROUP], r)
        r = probe.ask("bearer " + token)
        check(tag + ": access token verdict cached", r.get("err") == 0, r)
        r = probe.ask("bearer forged-" + secrets.token_urlsafe(24))
        check(tag + ": forged access token refused (401 at userinfo)",
              r.get("err") == E["EUNAUTHORIZED"], r)
    except Exception as e:  # report, then the next scenario
        check(tag + ": ran to the end", False, repr(e))
    finally:
        if probe:
            probe.close()
        if prov:
            prov.close()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--probe", default=os.path.join(
        REPO, "build", "test", "unit", "oidc-probe"))
    ap.add_argument("--keep", action="store_true",
                    help="keep the temporary directory with the logs")
    args = ap.parse_args()
    tmp = tempfile.mkdtemp(prefix="ddns-oidc-e2e-")
    scenario(args, tmp, "RS256", "client_secret_basic")
    scenario(args, tmp, "ES256", "client_secret_post")
    print("%d passed, %d failed" % (results["passed"], results["failed"]))
    if results["failed"] or args.keep:
        print("logs in " + tmp)
    else:
        for name in os.listdir(tmp):
            os.unlink(os.path.join(tmp, name))
        os.rmdir(tmp)
    return 1 if results["failed"] else 0


if __name__ == "__main__":
    sys.exit(main())
