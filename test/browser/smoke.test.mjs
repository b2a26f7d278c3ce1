// smoke.test.mjs -- proves the browser/OIDC rig works, before the portal's
// C side exists: the real OpenID provider (oidc-provider.mjs), headless
// Debian chromium, and a tiny stand-in relying party written here in node
// (authorization code flow with PKCE S256, state, nonce, code exchange with
// client_secret_basic, ID token verified with node's built-in crypto
// against the JWKS, userinfo). The same checks are what ddns-updater's
// oidc.c must do; the negative cases are the ones its tests will repeat.
//
//   node --test smoke.test.mjs

import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import http from 'node:http';
import { after, before, describe, test } from 'node:test';
import {
	chromiumMissing, closeServer, launchBrowser, listenLoopback,
	startOidcProvider,
} from './lib.mjs';

const USERS = [
	{
		sub: 'alice', password: 'alice-pw-0123', name: 'Alice Example',
		email: 'alice@example.org',
		eduperson_entitlement: ['urn:mace:egi.eu:group:vo.example.org:role=member#aai.egi.eu'],
	},
];
const CLIENT_ID = 'ddns-smoke';
const SCOPE = 'openid profile email eduperson_entitlement';
const b64u = (b) => Buffer.from(b).toString('base64url');
const esc = (s) => String(s).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

/** Verify the compact JWS TOKEN against JWKS for ALG; returns the payload
 *  or throws an Error saying why not. */
function verifyIdToken(token, { jwks, alg, issuer, clientId, nonce }) {
	const parts = token.split('.');
	if (parts.length !== 3)
		throw new Error('malformed ID token');
	const header = JSON.parse(Buffer.from(parts[0], 'base64url'));
	if (header.alg !== alg)
		throw new Error(`unexpected alg ${header.alg}`);
	const jwk = jwks.keys.find((k) => k.kid === header.kid);
	if (!jwk)
		throw new Error('no key with that kid');
	const key = crypto.createPublicKey({ key: jwk, format: 'jwk' });
	const input = Buffer.from(`${parts[0]}.${parts[1]}`);
	const sig = Buffer.from(parts[2], 'base64url');
	const good = alg === 'ES256'
		? crypto.verify('sha256', input, { key, dsaEncoding: 'ieee-p1363' }, sig)
		: crypto.verify('sha256', input, key, sig);
	if (!good)
		throw new Error('bad signature');
	const c = JSON.parse(Buffer.from(parts[1], 'base64url'));
	const now = Math.floor(Date.now() / 1000);
	if (c.iss !== issuer)
		throw new Error('wrong issuer');
	const aud = Array.isArray(c.aud) ? c.aud : [c.aud];
	if (!aud.includes(clientId) || (c.azp !== undefined && c.azp !== clientId))
		throw new Error('wrong audience');
	if (typeof c.exp !== 'number' || c.exp <= now)
		throw new Error('expired');
	if (typeof c.iat !== 'number' || c.iat > now + 60)
		throw new Error('issued in the future');
	if (c.nonce !== nonce)
		throw new Error('wrong nonce');
	return c;
}

/** The stand-in relying party: GET /login starts the flow, GET /callback
 *  ends it with a page "Signed in" (claims in #claims) or "Sign-in refused"
 *  (reason in #reason). */
class RelyingParty {
	constructor() {
		this.flows = new Map(); // state -> { nonce, verifier }
		this.callbacks = 0;
		this.last = null; // { code, verifier } of the last callback
		this.server = http.createServer((req, res) => {
			this.handle(req, res).catch((e) => this.page(res, 500, 'Error', e.message));
		});
	}

	async start() {
		this.port = await listenLoopback(this.server);
		this.origin = `http://127.0.0.1:${this.port}`;
		this.redirectUri = `${this.origin}/callback`;
	}

	async discover(issuer, clientSecret) {
		this.clientSecret = clientSecret;
		const r = await fetch(`${issuer}/.well-known/openid-configuration`);
		this.meta = await r.json();
		this.jwks = await (await fetch(this.meta.jwks_uri)).json();
	}

	page(res, status, title, body, extraHeaders = {}) {
		res.writeHead(status, { 'Content-Type': 'text/html; charset=utf-8', ...extraHeaders });
		res.end(`<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>${esc(title)}</title></head>` +
			`<body><h1>${esc(title)}</h1>${body}</body></html>`);
	}

	refuse(res, reason) {
		this.page(res, 400, 'Sign-in refused', `<p id="reason">${esc(reason)}</p>`);
	}

	async handle(req, res) {
		const url = new URL(req.url, this.origin);
		if (url.pathname === '/login')
			return this.login(res);
		if (url.pathname === '/callback')
			return this.callback(req, res, url.searchParams);
		return this.page(res, 404, 'Not found', '');
	}

	login(res) {
		const state = b64u(crypto.randomBytes(32));
		const nonce = b64u(crypto.randomBytes(32));
		const verifier = b64u(crypto.randomBytes(32));
		const challenge = b64u(crypto.createHash('sha256').update(verifier).digest());
		this.flows.set(state, { nonce, verifier });
		const q = new URLSearchParams({
			response_type: 'code', client_id: CLIENT_ID, redirect_uri: this.redirectUri,
			scope: SCOPE, state, nonce, code_challenge: challenge,
			code_challenge_method: 'S256',
		});
		res.writeHead(302, {
			Location: `${this.meta.authorization_endpoint}?${q}`,
			'Set-Cookie': `rp_flow=${state}; Path=/; HttpOnly; SameSite=Lax`,
		});
		res.end();
	}

	async redeem(code, verifier) {
		const basic = Buffer.from(`${encodeURIComponent(CLIENT_ID)}:${encodeURIComponent(this.clientSecret)}`).toString('base64');
		const r = await fetch(this.meta.token_endpoint, {
			method: 'POST',
			headers: { Authorization: `Basic ${basic}`, 'Content-Type': 'application/x-www-form-urlencoded' },
			body: new URLSearchParams({
				grant_type: 'authorization_code', code, redirect_uri: this.redirectUri,
				code_verifier: verifier,
			}),
		});
		return { status: r.status, body: await r.json() };
	}

	async callback(req, res, q) {
		this.callbacks++;
		const cookie = /(?:^|;\s*)rp_flow=([^;]+)/.exec(req.headers.cookie || '');
		const state = q.get('state');
		const flow = state && this.flows.get(state);
		if (!flow || !cookie || cookie[1] !== state)
			return this.refuse(res, 'state mismatch');
		this.flows.delete(state); // one use
		if (q.get('error'))
			return this.refuse(res, `provider error ${q.get('error')}`);
		if (q.get('iss') !== this.meta.issuer) // RFC 9207
			return this.refuse(res, 'wrong iss parameter');
		const code = q.get('code');
		this.last = { code, verifier: flow.verifier };
		const tok = await this.redeem(code, flow.verifier);
		if (tok.status !== 200)
			return this.refuse(res, `token endpoint ${tok.status} ${tok.body.error}`);
		let idc;
		try {
			idc = verifyIdToken(tok.body.id_token, {
				jwks: this.jwks, alg: 'RS256', issuer: this.meta.issuer,
				clientId: CLIENT_ID, nonce: flow.nonce,
			});
		} catch (e) {
			return this.refuse(res, `ID token: ${e.message}`);
		}
		const ui = await fetch(this.meta.userinfo_endpoint, {
			headers: { Authorization: `Bearer ${tok.body.access_token}` },
		});
		const claims = await ui.json();
		if (ui.status !== 200 || claims.sub !== idc.sub)
			return this.refuse(res, 'userinfo failed');
		this.lastAccessToken = tok.body.access_token;
		return this.page(res, 200, 'Signed in',
			`<pre id="claims">${esc(JSON.stringify({ id_token: idc, userinfo: claims }))}</pre>`,
			{ 'Set-Cookie': 'rp_flow=; Path=/; Max-Age=0' });
	}
}

const skip = chromiumMissing();

/** Go through the provider's pages as they come (login form, consent) until
 *  the browser is back at the RP's callback. */
async function signIn(page, rp, password = 'alice-pw-0123') {
	await page.goto(`${rp.origin}/login`);
	for (let i = 0; i < 3; i++) {
		const where = await Promise.race([
			page.waitForURL(`${rp.origin}/callback?**`).then(() => 'rp'),
			page.waitForSelector('.login-card h1').then(async (h) => h.textContent()),
		]);
		if (where === 'rp')
			return;
		if (where === 'Sign-in') {
			await page.fill('input[name="login"]', 'alice');
			await page.fill('input[name="password"]', password);
			await page.click('button.login-submit');
		} else if (where === 'Authorize') {
			await page.click('button:has-text("Continue")');
		}
		await page.waitForLoadState();
	}
	throw new Error(`stuck at ${page.url()}`);
}

describe('OIDC rig: provider + chromium + stand-in relying party', { skip: skip ?? false }, () => {
	const rp = new RelyingParty();
	let op;
	let browser;
	let page;

	before(async () => {
		await rp.start();
		op = await startOidcProvider({
			users: USERS, clientId: CLIENT_ID,
			clientSecret: b64u(crypto.randomBytes(24)),
			redirectUris: [rp.redirectUri],
		});
		await rp.discover(op.issuer, op.clientSecret);
		browser = await launchBrowser();
		page = await browser.newPage();
		page.setDefaultTimeout(10000);
	});

	after(async () => {
		await browser?.close();
		await op?.stop();
		await closeServer(rp.server);
	});

	test('discovery: S256 only, the entitlement scope and claim', () => {
		assert.equal(rp.meta.issuer, op.issuer);
		assert.deepEqual(rp.meta.code_challenge_methods_supported, ['S256']);
		assert.ok(rp.meta.scopes_supported.includes('eduperson_entitlement'));
		assert.ok(rp.meta.claims_supported.includes('eduperson_entitlement'));
		assert.equal(rp.jwks.keys.length, 1);
		assert.equal(rp.jwks.keys[0].alg, 'RS256');
		assert.equal(rp.jwks.keys[0].d, undefined, 'private part published');
	});

	test('an authorization request without PKCE is refused', async () => {
		const q = new URLSearchParams({
			response_type: 'code', client_id: CLIENT_ID, redirect_uri: rp.redirectUri,
			scope: 'openid', state: 's', nonce: 'n',
		});
		const r = await fetch(`${rp.meta.authorization_endpoint}?${q}`, { redirect: 'manual' });
		assert.equal(r.status, 303);
		const loc = new URL(r.headers.get('location'));
		assert.equal(`${loc.origin}${loc.pathname}`, rp.redirectUri);
		assert.equal(loc.searchParams.get('error'), 'invalid_request');
		assert.match(loc.searchParams.get('error_description'), /PKCE/);
	});

	test('a wrong password is refused by the provider, the RP sees nothing', async () => {
		const before = rp.callbacks;
		await page.goto(`${rp.origin}/login`);
		assert.equal(await page.locator('.login-card h1').textContent(), 'Sign-in');
		await page.fill('input[name="login"]', 'alice');
		await page.fill('input[name="password"]', 'not-her-password');
		const [resp] = await Promise.all([
			page.waitForResponse((r) => r.request().method() === 'POST'),
			page.click('button.login-submit'),
		]);
		assert.equal(resp.status(), 401);
		assert.equal(await page.locator('h1').textContent(), 'Sign-in failed');
		assert.equal(rp.callbacks, before);
	});

	test('login: PKCE, state, nonce, code exchange, ID token, userinfo', async () => {
		await page.goto(`${rp.origin}/login`);
		await page.fill('input[name="login"]', 'alice');
		await page.fill('input[name="password"]', 'alice-pw-0123');
		await page.click('button.login-submit');
		await page.waitForSelector('text=Authorize');
		await page.click('button:has-text("Continue")');
		await page.waitForURL(`${rp.origin}/callback?**`);
		assert.equal(await page.locator('h1').textContent(), 'Signed in');
		const got = JSON.parse(await page.locator('#claims').textContent());
		assert.equal(got.id_token.sub, 'alice');
		assert.equal(got.id_token.email, undefined, 'profile claims belong in userinfo');
		assert.equal(got.userinfo.email, 'alice@example.org');
		assert.deepEqual(got.userinfo.eduperson_entitlement, USERS[0].eduperson_entitlement);
		const names = (await browser.context.cookies()).map((c) => c.name);
		assert.ok(names.some((n) => n.startsWith('oidcp_')), names.join());
		assert.ok(names.every((n) => n.startsWith('oidcp_') || n.startsWith('rp_')), names.join());
	});

	test('a replayed code gets invalid_grant and revokes the grant', async () => {
		const { code, verifier } = rp.last;
		const again = await rp.redeem(code, verifier);
		assert.equal(again.status, 400);
		assert.equal(again.body.error, 'invalid_grant');
		const ui = await fetch(rp.meta.userinfo_endpoint, {
			headers: { Authorization: `Bearer ${rp.lastAccessToken}` },
		});
		assert.equal(ui.status, 401, 'first access token still works');
	});

	test('a callback with a forged state is refused', async () => {
		await page.goto(`${rp.origin}/callback?code=x&state=forged&iss=${encodeURIComponent(op.issuer)}`);
		assert.equal(await page.locator('#reason').textContent(), 'state mismatch');
	});

	for (const [mode, reason] of [
		['wrong-key', 'ID token: bad signature'],
		['expired', 'ID token: expired'],
		['wrong-aud', 'ID token: wrong audience'],
		['wrong-iss', 'ID token: wrong issuer'],
		['bad-nonce', 'ID token: wrong nonce'],
		['alg-none', 'ID token: unexpected alg none'],
	]) {
		test(`an ID token spoiled by the provider (${mode}) is refused`, async () => {
			await op.setIdTokenMode(mode);
			try {
				await signIn(page, rp);
				assert.equal(await page.locator('#reason').textContent(), reason);
			} finally {
				await op.setIdTokenMode('valid');
			}
		});
	}

	test('after the negative cases a valid login works again', async () => {
		await signIn(page, rp);
		assert.equal(await page.locator('h1').textContent(), 'Signed in');
		// the provider's stock pages ask for web fonts: blocked, and nothing else
		const other = browser.blocked.filter((u) => !u.startsWith('https://fonts.googleapis.com/'));
		assert.deepEqual(other, [], 'a page asked for a non-loopback URL');
	});
});
