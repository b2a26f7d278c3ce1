#!/usr/bin/env node
// oidc-provider.mjs -- a real OpenID Connect provider on loopback, for tests.
//
//   node oidc-provider.mjs --port 0 --users users.json \
//       --client-id ddns --client-secret S \
//       --redirect-uri http://127.0.0.1:8080/oidc/callback [--redirect-uri ...] \
//       [--id-token valid|wrong-key|expired|wrong-aud|wrong-iss|bad-nonce|alg-none] \
//       [--alg RS256|ES256] [--auth-method client_secret_basic|client_secret_post] \
//       [--verbose]
//
// Every option has an environment fallback: OIDC_PORT, OIDC_USERS,
// OIDC_CLIENT_ID, OIDC_CLIENT_SECRET, OIDC_REDIRECT_URIS (space or comma
// separated), OIDC_ID_TOKEN_MODE, OIDC_ALG, OIDC_AUTH_METHOD.
//
// It binds 127.0.0.1 only (port 0: the kernel picks one) and, once it
// accepts connections, prints exactly one line on stdout:
//
//   oidc-provider ready {"issuer":"http://127.0.0.1:PORT","port":PORT}
//
// The provider is the npm package oidc-provider 8.x (the same code real
// deployments use) with:
// - a fresh signing key per run (RS256, or ES256 with --alg), never the
//   package's public development key; JWKS at /jwks;
// - one confidential client (client_secret_basic unless --auth-method);
//   PKCE required, S256 only; authorization code flow only;
// - devInteractions (stock login and consent pages) behind a real password
//   check: users come from the JSON file, an array of
//   {sub, password, name?, email?, preferred_username?, eduperson_entitlement?[]}
//   and the login field is the sub. A wrong password gets a 401 page
//   ("Sign-in failed") and no redirect;
// - claims: profile (name, preferred_username), email (email,
//   email_verified) and the custom eduperson_entitlement under the scope of
//   the same name; they come from userinfo (/me), the ID token carries only
//   sub, nonce, aud, exp, iat, iss (and at_hash...);
// - its cookies renamed oidcp_* so they never clash with the portal's
//   ddns_* cookies in the browser's one cookie jar for 127.0.0.1.
//
// Negative tests: the ID token returned by /token can be spoiled:
//   wrong-key  signed by another key of the same type, with the real kid
//   expired    iat two hours ago, exp one hour ago (correct signature)
//   wrong-aud  aud is another client (correct signature)
//   wrong-iss  iss is another issuer (correct signature)
//   bad-nonce  nonce is not the one the client sent (correct signature)
//   alg-none   unsigned ("alg":"none", empty signature)
// chosen at start (--id-token) or at run time with
//   POST /test-control/id-token-mode?mode=MODE   -> {"mode":"MODE"}
// (a test-only endpoint: this program is never a production provider).
//
// Secrets and passwords are never logged.

import crypto from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import process from 'node:process';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import Provider from 'oidc-provider';

export const ID_TOKEN_MODES = ['valid', 'wrong-key', 'expired', 'wrong-aud',
	'wrong-iss', 'bad-nonce', 'alg-none'];

function options() {
	const { values } = parseArgs({
		options: {
			port: { type: 'string' },
			users: { type: 'string' },
			'client-id': { type: 'string' },
			'client-secret': { type: 'string' },
			'redirect-uri': { type: 'string', multiple: true },
			'id-token': { type: 'string' },
			alg: { type: 'string' },
			'auth-method': { type: 'string' },
			verbose: { type: 'boolean' },
		},
	});
	const env = process.env;
	const o = {
		port: Number(values.port ?? env.OIDC_PORT ?? 0),
		users: values.users ?? env.OIDC_USERS,
		clientId: values['client-id'] ?? env.OIDC_CLIENT_ID ?? 'ddns',
		clientSecret: values['client-secret'] ?? env.OIDC_CLIENT_SECRET,
		redirectUris: values['redirect-uri'] ??
			(env.OIDC_REDIRECT_URIS ?? '').split(/[\s,]+/).filter(Boolean),
		idTokenMode: values['id-token'] ?? env.OIDC_ID_TOKEN_MODE ?? 'valid',
		alg: values.alg ?? env.OIDC_ALG ?? 'RS256',
		authMethod: values['auth-method'] ?? env.OIDC_AUTH_METHOD ??
			'client_secret_basic',
		verbose: Boolean(values.verbose),
	};
	const bad = (m) => {
		process.stderr.write(`oidc-provider: ${m}\n`);
		process.exit(2);
	};
	if (!Number.isInteger(o.port) || o.port < 0 || o.port > 65535)
		bad('--port must be 0..65535');
	if (!o.users)
		bad('--users FILE (or OIDC_USERS) is required');
	if (!o.clientSecret || o.clientSecret.length < 16)
		bad('--client-secret (or OIDC_CLIENT_SECRET) of 16+ characters is required');
	if (o.redirectUris.length === 0)
		bad('at least one --redirect-uri (or OIDC_REDIRECT_URIS) is required');
	if (!ID_TOKEN_MODES.includes(o.idTokenMode))
		bad(`--id-token must be one of ${ID_TOKEN_MODES.join(', ')}`);
	if (!['RS256', 'ES256'].includes(o.alg))
		bad('--alg must be RS256 or ES256');
	if (!['client_secret_basic', 'client_secret_post'].includes(o.authMethod))
		bad('--auth-method must be client_secret_basic or client_secret_post');
	return o;
}

function loadUsers(file) {
	const list = JSON.parse(fs.readFileSync(file, 'utf8'));
	const users = new Map();
	for (const u of Array.isArray(list) ? list : list.users) {
		if (typeof u.sub !== 'string' || typeof u.password !== 'string')
			throw new Error(`${file}: every user needs a string sub and password`);
		users.set(u.sub, u);
	}
	return users;
}

/** A fresh signing key: { privateKey, jwk (private, with kid/alg/use) }. */
function newKey(alg) {
	const { privateKey } = alg === 'ES256'
		? crypto.generateKeyPairSync('ec', { namedCurve: 'P-256' })
		: crypto.generateKeyPairSync('rsa', { modulusLength: 2048 });
	const jwk = privateKey.export({ format: 'jwk' });
	jwk.kid = crypto.randomBytes(8).toString('hex');
	jwk.alg = alg;
	jwk.use = 'sig';
	return { privateKey, jwk };
}

const b64u = (buf) => Buffer.from(buf).toString('base64url');

/** Sign a JWT with HEADER and PAYLOAD (objects) using KEY ({privateKey}). */
function signJwt(header, payload, key) {
	const input = `${b64u(JSON.stringify(header))}.${b64u(JSON.stringify(payload))}`;
	if (header.alg === 'none')
		return `${input}.`;
	const sig = crypto.sign('sha256', Buffer.from(input), header.alg === 'ES256'
		? { key: key.privateKey, dsaEncoding: 'ieee-p1363' }
		: key.privateKey);
	return `${input}.${b64u(sig)}`;
}

/** The ID token TOKEN spoiled as MODE says (see the header comment). */
export function spoilIdToken(token, mode, ctx) {
	const [h, p] = token.split('.');
	const header = JSON.parse(Buffer.from(h, 'base64url'));
	const payload = JSON.parse(Buffer.from(p, 'base64url'));
	const now = Math.floor(Date.now() / 1000);
	let key = ctx.key;
	switch (mode) {
	case 'wrong-key':
		key = newKey(header.alg);
		break;
	case 'expired':
		payload.iat = now - 7200;
		payload.exp = now - 3600;
		if (payload.auth_time)
			payload.auth_time = now - 7200;
		break;
	case 'wrong-aud':
		payload.aud = 'someone-else';
		if (payload.azp)
			payload.azp = 'someone-else';
		break;
	case 'wrong-iss':
		payload.iss = `${payload.iss}/other`;
		break;
	case 'bad-nonce':
		payload.nonce = 'not-the-nonce-you-sent';
		break;
	case 'alg-none':
		header.alg = 'none';
		delete header.kid;
		break;
	default:
		return token;
	}
	return signJwt(header, payload, key);
}

/** Read the whole request body (at most 64 KiB) as a string. */
async function readBody(req) {
	const chunks = [];
	let size = 0;
	for await (const c of req) {
		size += c.length;
		if (size > 65536)
			throw new Error('request body too large');
		chunks.push(c);
	}
	return Buffer.concat(chunks).toString('utf8');
}

function failedLoginPage(uid) {
	const esc = (s) => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
	return '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">' +
		'<title>Sign-in failed</title></head><body>' +
		'<h1 class="login-failed">Sign-in failed</h1>' +
		'<p>Invalid login or password.</p>' +
		`<p><a href="/interaction/${esc(uid)}">Try again</a></p></body></html>`;
}

async function main() {
	const o = options();
	const users = loadUsers(o.users);
	const key = newKey(o.alg);
	const state = { mode: o.idTokenMode, key };

	const server = http.createServer();
	await new Promise((resolve, reject) => {
		server.once('error', reject);
		server.listen(o.port, '127.0.0.1', resolve);
	});
	const port = server.address().port;
	const issuer = `http://127.0.0.1:${port}`;

	const provider = new Provider(issuer, {
		clients: [{
			client_id: o.clientId,
			client_secret: o.clientSecret,
			redirect_uris: o.redirectUris,
			grant_types: ['authorization_code'],
			response_types: ['code'],
			token_endpoint_auth_method: o.authMethod,
			id_token_signed_response_alg: o.alg,
		}],
		jwks: { keys: [key.jwk] },
		pkce: { methods: ['S256'], required: () => true },
		features: {
			devInteractions: { enabled: true },
			userinfo: { enabled: true },
		},
		claims: {
			openid: ['sub'],
			profile: ['name', 'preferred_username'],
			email: ['email', 'email_verified'],
			eduperson_entitlement: ['eduperson_entitlement'],
		},
		cookies: {
			names: {
				session: 'oidcp_session',
				interaction: 'oidcp_interaction',
				resume: 'oidcp_resume',
			},
			keys: [crypto.randomBytes(32).toString('hex')],
		},
		async findAccount(ctx, sub) {
			const u = users.get(sub);
			if (!u)
				return undefined;
			return {
				accountId: sub,
				async claims() {
					const c = { sub };
					if (u.name !== undefined)
						c.name = u.name;
					if (u.preferred_username !== undefined)
						c.preferred_username = u.preferred_username;
					if (u.email !== undefined) {
						c.email = u.email;
						c.email_verified = true;
					}
					if (u.eduperson_entitlement !== undefined)
						c.eduperson_entitlement = u.eduperson_entitlement;
					return c;
				},
			};
		},
	});

	// The real password check in front of the devInteractions login form,
	// the test control endpoint, and the ID token spoiler after /token.
	provider.use(async (ctx, next) => {
		if (ctx.method === 'POST' && ctx.path === '/test-control/id-token-mode') {
			const mode = ctx.query.mode;
			if (!ID_TOKEN_MODES.includes(mode)) {
				ctx.status = 400;
				ctx.body = { error: `mode must be one of ${ID_TOKEN_MODES.join(', ')}` };
				return;
			}
			state.mode = mode;
			ctx.body = { mode };
			return;
		}
		const m = /^\/interaction\/([^/]+)$/.exec(ctx.path);
		if (ctx.method === 'POST' && m) {
			const raw = await readBody(ctx.req);
			const form = new URLSearchParams(raw);
			if (form.get('prompt') === 'login') {
				const u = users.get(form.get('login') ?? '');
				const given = Buffer.from(form.get('password') ?? '');
				const want = Buffer.from(u ? u.password : '');
				const good = u && given.length === want.length &&
					crypto.timingSafeEqual(given, want);
				if (!good) {
					ctx.status = 401;
					ctx.type = 'html';
					ctx.body = failedLoginPage(m[1]);
					return;
				}
			}
			ctx.req.body = raw; // oidc-provider reads it from here
		}
		await next();
		if (ctx.path === '/token' && ctx.status === 200 && state.mode !== 'valid' &&
		    ctx.body && typeof ctx.body === 'object' && ctx.body.id_token)
			ctx.body = { ...ctx.body, id_token: spoilIdToken(ctx.body.id_token, state.mode, state) };
	});
	if (o.verbose) {
		provider.use(async (ctx, next) => {
			await next();
			process.stderr.write(`oidc-provider: ${ctx.method} ${ctx.path} ${ctx.status}\n`);
		});
	}

	server.on('request', provider.callback());
	const stop = () => {
		server.close(() => process.exit(0));
		server.closeAllConnections();
	};
	process.on('SIGTERM', stop);
	process.on('SIGINT', stop);
	process.stdout.write(`oidc-provider ready ${JSON.stringify({ issuer, port })}\n`);
}

if (process.argv[1] && fs.realpathSync(process.argv[1]) === fileURLToPath(import.meta.url)) {
	main().catch((e) => {
		process.stderr.write(`oidc-provider: ${e.stack || e}\n`);
		process.exit(1);
	});
}
