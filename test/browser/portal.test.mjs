// portal.test.mjs -- the portal end to end: headless Debian chromium against
// the REAL ddns-updater + ddns-backend + pdns_server (service.mjs) and the
// REAL OpenID provider (oidc-provider.mjs), everything on 127.0.0.1.
//
// What it proves:
// - local login; adding a host; its secret copied from the page (the copy
//   button and the clipboard) works with the real curl (good), the address
//   shows on the overview and in dig; "Show configuration" makes a new
//   secret: the old one gets 401 badauth, the new one good; logout, then
//   the overview leads to the login page;
// - another user cannot see or change that host through the portal;
// - OpenID Connect login through the provider's own pages (login, consent)
//   back to the overview as that user; the domain private to the user's
//   group (eduperson_entitlement) is offered, another group's is not; a
//   host added there; admin_group makes an admin (domains page);
// - a replayed callback URL (same code and state) is refused; ID tokens
//   spoiled by the provider (wrong key, expired, wrong audience / issuer /
//   nonce, unsigned) end on login.html?error=oidc_token with no session;
// - on the way: every /api/v1 reply the pages got matches its schema
//   (schema/api/), the static files carry the contract's headers, the
//   session cookie its attributes, nothing leaves loopback, no console
//   error (CSP included).
//
//   DDNS_BUILD_DIR=/path/to/build node --test portal.test.mjs   # an absolute path
//
// On a failure: a screenshot (its path printed), the daemons' logs, and the
// service's directory is kept.

import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { a11yProblems } from './a11y.mjs';
import { chromiumMissing, launchBrowser, REPO, startOidcProvider } from './lib.mjs';
import { curl, dig, prepareService, serviceMissing } from './service.mjs';
import { loadSchemas } from './validate-schemas.mjs';

const ZONE = 'dyn.example.org';
const LAB = 'lab.example.org'; // private to G_LAB
const OPS = 'ops.example.org'; // private to G_OPS
const G_LAB = 'urn:mace:egi.eu:group:lab.example.org:role=member#aai.egi.eu';
const G_OPS = 'urn:mace:egi.eu:group:ops.example.org:role=member#aai.egi.eu';
const G_ADMIN = 'urn:mace:egi.eu:group:ddns:role=admin#aai.egi.eu';
const PROVIDER_TITLE = 'Test IdP';
const pw = () => crypto.randomBytes(12).toString('base64url');
const LOCAL = { alice: pw(), bob: pw() };
const OIDC_USERS = [
	{
		sub: 'carol', password: pw(), name: 'Carol Example', preferred_username: 'carol',
		email: 'carol@example.org', eduperson_entitlement: [G_LAB],
	},
	{
		sub: 'dave', password: pw(), name: 'Dave Admin', preferred_username: 'dave',
		email: 'dave@example.org', eduperson_entitlement: [G_ADMIN],
	},
];
const SPOILED = ['wrong-key', 'expired', 'wrong-aud', 'wrong-iss', 'bad-nonce', 'alg-none'];
const CSP = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; " +
	"connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'";

/** The schema of the reply to METHOD PATH (/api/v1/...) with STATUS. */
function replySchema(method, pathname, status) {
	if (status === 204)
		return null;
	if (status >= 400)
		return 'error';
	const r = pathname.slice('/api/v1'.length);
	if (r === '/session' || r === '/login')
		return 'session';
	if (r === '/config')
		return 'config';
	if (r === '/domains')
		return method === 'GET' ? 'domain-list' : 'domain';
	if (r.startsWith('/domains/'))
		return 'domain';
	if (r === '/hosts')
		return method === 'GET' ? 'host-list' : 'host-created';
	if (/^\/hosts\/[^/]+\/secret$/.test(r))
		return 'secret';
	if (r.startsWith('/hosts/'))
		return 'host';
	return undefined;
}

const skip = chromiumMissing() ?? serviceMissing();

describe('the portal against the real service and OpenID provider', { skip: skip ?? false }, () => {
	let svc;
	let op;
	let browser;
	let page;
	let schemas;
	let shotsDir = null;
	let failed = false;
	const consoleErrors = [];
	const violations = []; // contract violations seen in the browser's traffic
	const pendingChecks = [];
	const secrets = []; // every secret, password and cookie value of the run
	const replies = { checked: 0, lost: 0 }; // /api/v1 bodies checked, or gone
	const callbacks = []; // every /oidc/callback URL the browser went to
	const oidcReplies = []; // { path, status, location, setCookie } of /oidc/*
	const t0 = Date.now();

	// ---- helpers ---------------------------------------------------------

	/** A test that, when it fails, leaves a screenshot (path printed) and
	 *  tells the service to keep its logs. */
	function step(name, fn) {
		test(name, async (t) => {
			try {
				await fn(t);
			} catch (e) {
				failed = true;
				svc?.fail();
				if (page) {
					shotsDir ??= process.env.DDNS_SCREENSHOTS
						? path.resolve(process.env.DDNS_SCREENSHOTS)
						: fs.mkdtempSync(path.join(os.tmpdir(), 'ddns-portal-shots-'));
					fs.mkdirSync(shotsDir, { recursive: true });
					const file = path.join(shotsDir, `${name.replace(/[^A-Za-z0-9]+/g, '-').slice(0, 60)}.png`);
					await page.screenshot({ path: file, fullPage: true }).catch(() => {});
					process.stderr.write(`screenshot of the failure: ${file} (at ${page.url()})\n`);
				}
				throw e;
			}
		});
	}

	const alertText = () => page.locator('#alert').textContent();

	/** The accessibility sanity check (a11y.mjs) on the page as it is. */
	async function checkA11y(name) {
		assert.deepEqual(await page.evaluate(a11yProblems), [], name);
	}
	const url = (p) => `${svc.origin}${p}`;

	/** GET /api/v1/session with the browser's cookies (checked against
	 *  session.json). */
	async function session() {
		const r = await page.request.get(url('/api/v1/session'));
		assert.equal(r.status(), 200);
		return checkBody('GET /api/v1/session (test)', 'session', await r.text());
	}

	const cookieNames = async () => (await browser.context.cookies()).map((c) => c.name);

	async function localLogin(user, password) {
		await page.goto(url('/login.html'));
		await page.getByLabel('User name').fill(user);
		await page.getByLabel('Password').fill(password);
		await page.getByRole('button', { name: 'Log in', exact: true }).click();
		await page.waitForURL((u) => u.origin === svc.origin && !u.pathname.endsWith('/login.html'));
		await page.locator('#user-box:not([hidden])').waitFor();
	}

	async function logout() {
		const c = (await browser.context.cookies()).find((x) => x.name === 'ddns_session');
		if (c)
			secrets.push(c.value);
		await page.getByRole('button', { name: 'Log out' }).click();
		await page.waitForURL('**/login.html?logged_out=1');
		assert.equal((await session()).user, null);
	}

	const onPortal = (u) => u.origin === svc.origin && !u.pathname.startsWith('/oidc/');

	/** Where the browser stopped: 'portal', or the heading of the
	 *  provider's page ('Sign-in', 'Authorize'). */
	async function whereNow() {
		const h1 = page.locator('.login-card h1');
		const where = await Promise.race([
			page.waitForURL(onPortal).then(() => 'portal', () => null),
			h1.waitFor().then(() => h1.textContent(), () => null),
		]);
		if (!where)
			throw new Error(`lost at ${page.url()}`);
		return where;
	}

	/** Start an OIDC login with the login page's button (DIRECT: at the
	 *  button's URL), NEXT the page to come back to; go through the
	 *  provider's pages as USER; resolve with the portal URL it ends on. */
	async function oidcLogin(user, next = '/index.html', { direct = false } = {}) {
		const href = `/oidc/login/test?next=${encodeURIComponent(next)}`;
		if (direct) { // where the button leads, without loading login.html
			await page.goto(url(href));
		} else {
			await page.goto(url(`/login.html?next=${encodeURIComponent(next)}`));
			const button = page.getByRole('link', { name: `Log in with ${PROVIDER_TITLE}` });
			assert.equal(await button.getAttribute('href'), href);
			await button.click();
		}
		const seen = [];
		for (;;) {
			const where = await whereNow();
			if (where === 'portal')
				return new URL(page.url());
			assert.ok(!seen.includes(where), `the provider showed "${where}" twice: ${seen}`);
			seen.push(where);
			if (where === 'Sign-in') {
				await page.fill('input[name="login"]', user.sub);
				await page.fill('input[name="password"]', user.password);
				await page.click('button.login-submit');
			} else if (where === 'Authorize') {
				await page.getByRole('button', { name: 'Continue' }).click();
			} else {
				throw new Error(`unexpected provider page "${where}" at ${page.url()}`);
			}
		}
	}

	/** The text of the <option>s of new.html's domain list. */
	async function offeredDomains() {
		await page.goto(url('/new.html'));
		await page.locator('#new-host:not([hidden])').waitFor();
		return page.locator('#domain option').allTextContents();
	}

	/** Add NAME in ZONE on new.html; resolves to the secret shown, checked
	 *  against what the copy button put on the clipboard. */
	async function addHost(name, zone) {
		await page.goto(url('/new.html'));
		await page.locator('#new-host:not([hidden])').waitFor();
		await page.getByLabel('Name', { exact: true }).fill(name);
		await page.getByLabel('Domain').selectOption(zone);
		assert.equal(await page.locator('#preview').textContent(), `${name}.${zone}`);
		await page.getByRole('button', { name: 'Add host' }).click();
		await page.locator('#secret').waitFor();
		return copiedSecret();
	}

	/** The secret shown in the page, read back from the clipboard after
	 *  the page's copy button (and compared with the text shown). */
	async function copiedSecret() {
		const shown = (await page.locator('#secret').textContent()).trim();
		assert.match(shown, /^[A-Za-z0-9]{24}$/);
		await page.evaluate(() => navigator.clipboard.writeText(''));
		await page.getByRole('button', { name: 'Copy the secret' }).click();
		await page.getByText('Copied the secret to the clipboard.').waitFor();
		const copied = await page.evaluate(() => navigator.clipboard.readText());
		assert.equal(copied, shown);
		secrets.push(copied);
		return copied;
	}

	const update = (fqdn, secret, ip) =>
		curl(`http://${fqdn}:${secret}@127.0.0.1:${svc.httpPort}/nic/update?myip=${ip}`);

	// ---- set up ----------------------------------------------------------

	/** Start the service and the provider, in the order they need. */
	async function startService(times) {
		// 1. the service's ports and config (nothing runs yet)
		svc = await prepareService({ zones: [ZONE, LAB, OPS] });
		times.prepared = Date.now() - t0;
		// 2. the provider, whose redirect URI holds the updater's port
		op = await startOidcProvider({
			users: OIDC_USERS, clientId: 'ddns',
			clientSecret: crypto.randomBytes(24).toString('base64url'),
			redirectUris: [`${svc.origin}/oidc/callback`],
		});
		times.provider = Date.now() - t0;
		// 3. the updater's config names the provider; then start
		const secretFile = path.join(svc.dir, 'oidc-client-secret');
		fs.writeFileSync(secretFile, `${op.clientSecret}\n`, { mode: 0o600 });
		await svc.start([
			'[portal]',
			`public_url = ${svc.origin}`,
			`static_dir = ${path.join(REPO, 'updater/portal')}`,
			'',
			'[oidc test]',
			`title = ${PROVIDER_TITLE}`,
			`issuer = ${op.issuer}`,
			`client_id = ${op.clientId}`,
			`client_secret_file = ${secretFile}`,
			'scopes = openid profile email eduperson_entitlement',
			'groups_claim = eduperson_entitlement',
			`admin_group = ${G_ADMIN}`,
			'token_auth_method = client_secret_basic',
			'allow_http = yes',
		].join('\n'));
		times.service = Date.now() - t0;
		// 4. zones private to a group, local users
		await svc.ctl(['zone', 'set', LAB, '--visibility', 'private', '--group', G_LAB]);
		await svc.ctl(['zone', 'set', OPS, '--visibility', 'private', '--group', G_OPS]);
		for (const [name, password] of Object.entries(LOCAL)) {
			await svc.ctl(['user', 'add', name, '--display-name',
				`${name[0].toUpperCase()}${name.slice(1)} Local`, '--password-stdin'], `${password}\n`);
		}
		times.users = Date.now() - t0;
	}

	before(async () => {
		schemas = loadSchemas();
		const times = {};
		// chromium starts meanwhile: it needs nothing of the rest
		const launching = launchBrowser({
			viewport: { width: 1280, height: 900 },
			permissions: ['clipboard-read', 'clipboard-write'],
		}).then((b) => {
			times.browser = Date.now() - t0;
			return b;
		});
		const [started, launched] = await Promise.allSettled([startService(times), launching]);
		if (launched.status === 'fulfilled')
			browser = launched.value;
		if (started.status === 'rejected' || launched.status === 'rejected') {
			await browser?.close();
			await op?.stop();
			if (svc) {
				svc.fail();
				const code = await svc.stop();
				process.stderr.write(`${svc.output()}\n(service driver exit ${code})\n`);
			}
			throw started.reason ?? launched.reason;
		}
		process.stderr.write(`portal.test: start-up (ms since the start): ${JSON.stringify(times)}\n`);
		page = await browser.newPage();
		page.setDefaultTimeout(10000);
		page.on('console', (m) => {
			// 4xx replies the tests provoke are logged by chromium as
			// "Failed to load resource"; anything else (CSP refusals,
			// script errors) is a failure, on the portal's pages.
			if (m.type() === 'error' && !/^Failed to load resource/.test(m.text()) &&
			    page.url().startsWith(svc.origin))
				consoleErrors.push(`${page.url()}: ${m.text()}`);
		});
		page.on('pageerror', (e) => consoleErrors.push(`uncaught: ${e.message}`));
		page.on('request', (r) => {
			const u = new URL(r.url());
			if (u.origin === svc.origin && u.pathname === '/oidc/callback')
				callbacks.push(r.url());
		});
		page.on('response', (r) => {
			const u = new URL(r.url());
			if (u.origin === svc.origin && u.pathname.startsWith('/oidc/')) {
				const rec = { path: u.pathname, status: r.status() };
				oidcReplies.push(rec); // in the order they came
				pendingChecks.push((async () => {
					rec.location = await r.headerValue('location');
					rec.setCookie = await r.headerValues('set-cookie');
				})());
			}
			if (u.origin !== svc.origin || !u.pathname.startsWith('/api/v1/'))
				return;
			pendingChecks.push(checkReply(r, u));
		});
	});

	/** Check one /api/v1 reply the browser got against the contract. */
	async function checkReply(r, u) {
		const where = `${r.request().method()} ${u.pathname} -> ${r.status()}`;
		const headers = r.headers();
		const schema = replySchema(r.request().method(), u.pathname, r.status());
		if (r.status() === 401 && !/^Bearer realm="ddns"/.test(headers['www-authenticate'] ?? ''))
			violations.push(`${where}: WWW-Authenticate ${headers['www-authenticate']}`);
		if (schema === null)
			return;
		if (!/^application\/json\b/.test(headers['content-type'] ?? ''))
			violations.push(`${where}: Content-Type ${headers['content-type']}`);
		if (!/\bno-store\b/.test(headers['cache-control'] ?? ''))
			violations.push(`${where}: Cache-Control ${headers['cache-control']}`);
		if (headers['x-content-type-options'] !== 'nosniff')
			violations.push(`${where}: X-Content-Type-Options ${headers['x-content-type-options']}`);
		let text;
		try {
			text = await r.text();
		} catch {
			// the page went on (e.g. right after POST /login) and chromium
			// dropped the body: not checked here; session() checks those
			replies.lost++;
			return;
		}
		checkBody(where, schema, text);
	}

	/** Check the JSON TEXT of the reply WHERE against SCHEMA. */
	function checkBody(where, schema, text) {
		let body;
		try {
			body = JSON.parse(text);
		} catch (e) {
			violations.push(`${where}: not JSON (${e.message})`);
			return null;
		}
		if (schema === undefined) {
			violations.push(`${where}: no schema for this path`);
			return body;
		}
		const err = schemas.validate(schema, body);
		if (err)
			violations.push(`${where}: ${err} in ${JSON.stringify(body)}`);
		replies.checked++;
		return body;
	}

	after(async () => {
		await Promise.allSettled(pendingChecks);
		await browser?.close();
		await op?.stop();
		if (!svc)
			return;
		const code = await svc.stop();
		if (failed || code !== 0)
			process.stderr.write(`${svc.output()}\n`);
		process.stderr.write(`portal.test: ${Date.now() - t0} ms in all\n`);
		assert.equal(code, 0, 'a daemon did not stop cleanly (logs above)');
	});

	// ---- the tests ---------------------------------------------------------

	step('the portal is served with the contract\'s headers; no session: login page', async () => {
		const r = await page.request.get(url('/login.html'));
		assert.equal(r.status(), 200);
		const hd = r.headers();
		assert.equal(hd['content-type'], 'text/html; charset=utf-8');
		assert.equal(hd['content-security-policy'], CSP);
		assert.equal(hd['x-content-type-options'], 'nosniff');
		assert.equal(hd['x-frame-options'], 'DENY');
		assert.equal(hd['referrer-policy'], 'no-referrer');
		const js = await page.request.get(url('/portal.js'));
		assert.equal(js.headers()['content-type'], 'text/javascript; charset=utf-8');
		await page.goto(url('/'));
		await page.waitForURL('**/login.html?next=%2F');
		await page.getByLabel('User name').waitFor();
		assert.equal(await page.getByRole('link', { name: `Log in with ${PROVIDER_TITLE}` }).count(), 1);
		await checkA11y('login.html');
		assert.equal((await session()).user, null);
	});

	let aliceHost; // { fqdn, secret }

	step('local login, add a host, its secret works with curl; dig; new secret; logout', async () => {
		await localLogin('alice', LOCAL.alice);
		assert.equal(await page.locator('#who').textContent(), 'Alice Local');
		const cookie = (await browser.context.cookies()).find((c) => c.name === 'ddns_session');
		assert.ok(cookie, 'no ddns_session cookie');
		assert.match(cookie.value, /^[A-Za-z0-9_-]{43}$/);
		secrets.push(cookie.value);
		assert.equal(cookie.httpOnly, true);
		assert.equal(cookie.sameSite, 'Lax');
		assert.equal(cookie.path, '/');
		await page.getByText('You have no hosts yet.').waitFor();

		const fqdn = `web.${ZONE}`;
		const secret = await addHost('web', ZONE);
		await checkA11y('new.html with the secret');
		assert.match(await page.locator('#snippet-curl').textContent(),
			new RegExp(`^curl "http://${fqdn}:${secret}@127\\.0\\.0\\.1:${svc.httpPort}/nic/update"$`));

		let r = await update(fqdn, secret, '192.0.2.55');
		assert.deepEqual(r, { status: 200, body: 'good 192.0.2.55' });
		await page.goto(url('/index.html'));
		const row = page.locator('#hosts-table tbody tr').filter({ hasText: fqdn });
		await row.waitFor();
		assert.match(await row.textContent(), /192\.0\.2\.55/);
		assert.equal(await row.locator('time').count(), 1, 'no time of the last update');
		await checkA11y('index.html');
		assert.deepEqual(await dig(svc.dnsPort, fqdn), ['192.0.2.55']);

		// "Show configuration": a new secret; the old one stops at once
		await row.getByRole('link', { name: fqdn }).click();
		await page.waitForURL(`**/host.html?fqdn=${fqdn}`);
		await page.getByRole('button', { name: 'Show configuration' }).click();
		await page.getByRole('dialog', { name: 'Make a new secret?' })
			.getByRole('button', { name: 'Make a new secret' }).click();
		await page.locator('#secret').waitFor();
		const secret2 = await copiedSecret();
		assert.notEqual(secret2, secret);
		assert.match(await page.locator('#secret-panel').textContent(), /The old secret no longer works/);
		await checkA11y('host.html with the new secret');
		r = await update(fqdn, secret, '192.0.2.56');
		assert.deepEqual(r, { status: 401, body: 'badauth' });
		r = await update(fqdn, secret2, '192.0.2.56');
		assert.deepEqual(r, { status: 200, body: 'good 192.0.2.56' });
		assert.deepEqual(await dig(svc.dnsPort, fqdn), ['192.0.2.56']);
		aliceHost = { fqdn, secret: secret2 };

		await logout();
		assert.ok(!(await cookieNames()).includes('ddns_session'), 'the session cookie stayed');
		await page.goto(url('/index.html'));
		await page.waitForURL('**/login.html?next=%2Findex.html');
	});

	step('another user cannot see or change that host', async () => {
		assert.ok(aliceHost, 'needs the previous test');
		const { fqdn } = aliceHost;
		await localLogin('bob', LOCAL.bob);
		await page.getByText('You have no hosts yet.').waitFor();
		await page.goto(url(`/host.html?fqdn=${fqdn}`));
		await page.locator('#alert .msg-error').waitFor();
		assert.equal(await alertText(), `There is no host ${fqdn} of yours.`);
		assert.equal(await page.getByRole('button', { name: 'Show configuration' }).count(), 0);
		// straight at the API with bob's session and CSRF token: 404, nothing changed
		const { csrf } = await session();
		const rs = await page.request.post(url(`/api/v1/hosts/${fqdn}/secret`),
			{ headers: { 'X-CSRF-Token': csrf, Origin: svc.origin } });
		assert.equal(rs.status(), 404);
		checkBody('POST /api/v1/hosts/{fqdn}/secret (test)', 'error', await rs.text());
		const rd = await page.request.delete(url(`/api/v1/hosts/${fqdn}`),
			{ headers: { 'X-CSRF-Token': csrf, Origin: svc.origin } });
		assert.equal(rd.status(), 404);
		checkBody('DELETE /api/v1/hosts/{fqdn} (test)', 'error', await rd.text());
		assert.deepEqual(await update(fqdn, aliceHost.secret, '192.0.2.57'),
			{ status: 200, body: 'good 192.0.2.57' });
		await logout();
	});

	step('OIDC login: back on the overview as that user; the group\'s domain offered', async () => {
		const [carol] = OIDC_USERS;
		const landed = await oidcLogin(carol);
		assert.equal(landed.pathname, '/index.html');
		await page.locator('#user-box:not([hidden])').waitFor();
		assert.equal(await page.locator('#who').textContent(), 'Carol Example');
		const names = await cookieNames();
		assert.ok(names.includes('ddns_session'), names.join());
		assert.ok(!names.includes('ddns_oidc'), `the flow cookie stayed: ${names}`);
		// the redirects, as schema/api/README.md section 4 says
		await Promise.allSettled(pendingChecks);
		const login = oidcReplies.filter((x) => x.path === '/oidc/login/test').at(-1);
		const back = oidcReplies.filter((x) => x.path === '/oidc/callback').at(-1);
		assert.ok(login && back, JSON.stringify(oidcReplies));
		assert.equal(login.status, 302);
		const auth = new URL(login.location);
		assert.equal(`${auth.origin}${auth.pathname}`, `${op.issuer}/auth`);
		const q = Object.fromEntries(auth.searchParams);
		assert.equal(q.response_type, 'code');
		assert.equal(q.client_id, 'ddns');
		assert.equal(q.redirect_uri, `${svc.origin}/oidc/callback`);
		assert.deepEqual(q.scope.split(' ').sort(), ['eduperson_entitlement', 'email', 'openid', 'profile']);
		assert.equal(q.code_challenge_method, 'S256');
		for (const k of ['state', 'nonce', 'code_challenge'])
			assert.match(q[k] ?? '', /^[A-Za-z0-9_-]{43}$/, k);
		// the contract says the cookie's value is the state; the C side sets
		// a separate random browser binding the stored flow holds (as safe)
		assert.equal(login.setCookie.length, 1, login.setCookie.join(' | '));
		assert.match(login.setCookie[0],
			/^ddns_oidc=[A-Za-z0-9_-]{43}; Path=\/oidc\/; HttpOnly; SameSite=Lax; Max-Age=600$/);
		assert.equal(back.path, '/oidc/callback');
		assert.equal(back.status, 302);
		assert.equal(back.location, '/index.html');
		assert.equal(back.setCookie.length, 2, back.setCookie.join(' | '));
		assert.ok(back.setCookie.some((c) => /^ddns_session=[A-Za-z0-9_-]{43}; Path=\/; HttpOnly; SameSite=Lax; Max-Age=43200$/.test(c)),
			back.setCookie.join(' | '));
		assert.ok(back.setCookie.some((c) => /^ddns_oidc=; Path=\/oidc\/; .*Max-Age=0/.test(c)), back.setCookie.join(' | '));

		const s = await session();
		assert.deepEqual(s.user.groups, [G_LAB]);
		assert.equal(s.user.admin, false);
		assert.equal(s.user.email, 'carol@example.org');
		assert.equal(await page.getByRole('link', { name: 'Domains' }).count(), 0, 'admin link shown');

		assert.deepEqual(await offeredDomains(), [ZONE, `${LAB} (private)`]);
		const secret = await addHost('lab1', LAB);
		assert.deepEqual(await update(`lab1.${LAB}`, secret, '192.0.2.77'),
			{ status: 200, body: 'good 192.0.2.77' });
		assert.deepEqual(await dig(svc.dnsPort, `lab1.${LAB}`), ['192.0.2.77']);
		await page.goto(url('/index.html'));
		await page.locator('#hosts-table tbody tr').filter({ hasText: `lab1.${LAB}` }).waitFor();
		assert.equal(await page.locator('#hosts-table tbody tr').count(), 1);
		await logout();
	});

	step('a replayed callback URL (same code and state) is refused', async () => {
		assert.ok(callbacks.length >= 1, 'no callback seen');
		const replay = callbacks[callbacks.length - 1];
		const q = new URL(replay).searchParams;
		assert.ok(q.get('state') && q.get('code'), replay);
		// even with the flow cookie put back as it was during that login
		await Promise.allSettled(pendingChecks);
		const begin = oidcReplies.filter((x) => x.path === '/oidc/login/test').at(-1);
		const binding = /^ddns_oidc=([^;]+);/.exec(begin.setCookie[0])[1];
		await browser.context.addCookies([{
			name: 'ddns_oidc', value: binding, domain: '127.0.0.1', path: '/oidc/',
			httpOnly: true, sameSite: 'Lax',
		}]);
		await page.goto(replay);
		await page.waitForURL((u) => u.pathname === '/login.html' && u.searchParams.has('error'));
		assert.equal(new URL(page.url()).searchParams.get('error'), 'oidc_state');
		await page.locator('#alert .msg-error').waitFor();
		assert.match(await alertText(), /took too long|another window/);
		assert.equal((await session()).user, null);
		assert.ok(!(await cookieNames()).includes('ddns_session'));
	});

	step('a forged state, an unknown provider, a foreign next', async () => {
		await page.goto(url(`/oidc/callback?code=x&state=${'A'.repeat(43)}&iss=${encodeURIComponent(op.issuer)}`));
		await page.waitForURL((u) => u.pathname === '/login.html');
		assert.equal(new URL(page.url()).searchParams.get('error'), 'oidc_state');
		const r = await page.request.get(url('/oidc/login/nope'), { maxRedirects: 0 });
		assert.equal(r.status(), 404);
		// carol is still signed in at the provider: straight back, to "/"
		// (a non-loopback redirect would be aborted by the browser context)
		await page.goto(url('/oidc/login/test?next=%2F%2Fevil.example%2Fx'));
		await page.waitForURL((u) => u.origin === svc.origin && !u.pathname.startsWith('/oidc/') &&
			u.pathname !== '/login.html');
		assert.equal(new URL(page.url()).pathname, '/');
		assert.equal((await session()).user.name, 'carol');
		await logout();
	});

	step('spoiled ID tokens (wrong key, expired, ...) end on the login page, no session', async () => {
		const [carol] = OIDC_USERS;
		for (const mode of SPOILED) {
			await op.setIdTokenMode(mode);
			try {
				// the two the issue names through the button, the rest
				// straight at its URL (faster)
				const direct = !['wrong-key', 'expired'].includes(mode);
				const landed = await oidcLogin(carol, '/index.html', { direct });
				assert.equal(landed.pathname, '/login.html', `${mode}: ended on ${landed}`);
				assert.equal(landed.searchParams.get('error'), 'oidc_token', `${mode}: ${landed}`);
				await page.locator('#alert .msg-error').waitFor();
				assert.match(await alertText(), /could not be verified/);
				assert.equal((await session()).user, null, `${mode}: a session was made`);
				assert.ok(!(await cookieNames()).includes('ddns_session'), `${mode}: a session cookie`);
			} finally {
				await op.setIdTokenMode('valid');
			}
		}
	});

	step('admin_group makes an admin: the domains page, every zone', async () => {
		// forget carol's session at the provider too (cookies ignore ports)
		await browser.context.clearCookies();
		const dave = OIDC_USERS[1];
		const landed = await oidcLogin(dave, '/domains.html');
		assert.equal(landed.pathname, '/domains.html');
		await page.locator('#user-box:not([hidden])').waitFor();
		assert.equal(await page.locator('#who').textContent(), 'Dave Admin (admin)');
		const s = await session();
		assert.equal(s.user.admin, true);
		assert.deepEqual(s.user.groups, [G_ADMIN]);
		await page.locator('#domains-table').waitFor();
		const rows = await page.locator('#domains-table tbody tr').allTextContents();
		assert.equal(rows.length, 3, rows.join('\n'));
		for (const z of [ZONE, LAB, OPS])
			assert.ok(rows.some((t) => t.includes(z)), `${z} not listed`);
		await checkA11y('domains.html (admin)');
		await page.getByRole('link', { name: 'Domains' }).waitFor();
		await logout();
	});

	step('nothing left loopback, no console error, every API reply matched its schema', async () => {
		await Promise.allSettled(pendingChecks);
		// the provider's stock pages ask for web fonts: aborted, and nothing else
		const other = browser.blocked.filter((u) => !u.startsWith('https://fonts.googleapis.com/'));
		assert.deepEqual(other, []);
		assert.deepEqual(consoleErrors, []);
		assert.deepEqual(violations, []);
		assert.ok(replies.checked >= 40, `only ${replies.checked} API replies checked`);
		// no secret, password, session id or client secret in any log
		secrets.push(...Object.values(LOCAL), ...OIDC_USERS.map((u) => u.password), op.clientSecret,
			...(await browser.context.cookies()).filter((c) => c.name.startsWith('ddns_')).map((c) => c.value));
		for (const f of fs.readdirSync(svc.dir).filter((n) => n.endsWith('.log'))) {
			const text = fs.readFileSync(path.join(svc.dir, f), 'utf8');
			for (const x of secrets)
				assert.ok(!text.includes(x), `${f} holds a secret or password`);
		}
		process.stderr.write(`portal.test: ${replies.checked} API replies checked against their schemas, ` +
			`${replies.lost} gone with a navigation\n`);
	});
});
