// mock-api.mjs -- a stand-in for ddns-updater's portal side, in node, for
// testing the static portal before the C side exists.
//
// It serves updater/portal/ as the C server should (content types, the
// Content-Security-Policy and other headers of schema/api/README.md) and
// implements /api/v1 over in-memory state made from schema/api/examples/,
// following the contract in schema/api/README.md: the ddns_session cookie,
// X-CSRF-Token on every state change, JSON bodies only, the status codes and
// {"error": ...} replies. Every reply body is checked against its schema,
// and so is every state change's X-CSRF-Token: a violation is answered 500
// and recorded in `violations` (the tests require none: the portal and the
// contract agree). A request body its schema refuses gets 400
// {"error": "MEMBER: reason"} and is recorded in `rejected`.
//
//   const m = await startMockPortal();   // m.origin, m.state, m.violations
//   ...
//   await m.stop();

import crypto from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { closeServer, listenLoopback, REPO } from './lib.mjs';
import { EXAMPLES_DIR, loadSchemas } from './validate-schemas.mjs';

export const PORTAL_DIR = path.join(REPO, 'updater/portal');

/** The headers the C server sends with every portal file. */
export const STATIC_HEADERS = {
	'Content-Security-Policy': "default-src 'none'; script-src 'self'; style-src 'self'; " +
		"img-src 'self'; connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'",
	'X-Content-Type-Options': 'nosniff',
	'Referrer-Policy': 'no-referrer',
	'X-Frame-Options': 'DENY',
	'Cache-Control': 'no-cache',
};

const TYPES = {
	'.html': 'text/html; charset=utf-8',
	'.css': 'text/css; charset=utf-8',
	'.js': 'text/javascript; charset=utf-8',
	'.svg': 'image/svg+xml',
	'.png': 'image/png',
};

const example = (name) => JSON.parse(fs.readFileSync(path.join(EXAMPLES_DIR, `${name}.json`), 'utf8'));
const now = () => new Date(Math.floor(Date.now() / 1000) * 1000).toISOString().replace('.000Z', 'Z');
const newSecret = () => {
	const abc = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
	return Array.from(crypto.randomBytes(24), (b) => abc[b % 62]).join('');
};

class HttpError extends Error {
	constructor(status, message, headers = {}) {
		super(message);
		this.status = status;
		this.headers = headers;
	}
}

/** The initial state: users, hosts and domains from the examples. */
export function initialState() {
	const alice = example('session').user;
	const admin = example('session.admin').user;
	const opsHost = {
		...example('host'), fqdn: 'gw.ops.example.org', name: 'gw', zone: 'ops.example.org',
		comment: 'gateway (made by the operator)', owner: null,
	};
	return {
		users: [
			{ ...alice, password: 'alice-pw' },
			{ ...admin, password: 'admin-pw' },
			{ id: 4, name: 'mallory', display_name: 'Mallory', email: null, admin: false, groups: [], password: 'mallory-pw' },
		],
		hosts: [...example('host-list').hosts, opsHost],
		domains: example('domain-list').domains,
		config: example('config'),
		sessions: new Map(), // id -> { userId, csrf, expires }
		secrets: new Map(),  // fqdn -> current secret
	};
}

function publicUser(u) {
	const { password, ...rest } = u;
	return rest;
}

function mayUse(user, d) {
	return user.admin || d.visibility === 'public' ||
		(d.visibility === 'private' && d.groups.some((g) => user.groups.includes(g)));
}

function normName(s) {
	return String(s).trim().toLowerCase().replace(/\.$/, '');
}

const LDH = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*$/;
const IPV4 = /^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}$/;

function checkAddr(key, v) {
	if (key === 'ipv4' && !IPV4.test(v))
		throw new HttpError(400, `not an IPv4 address: ${v}`);
	if (key === 'ipv6') {
		if (!/^[0-9a-fA-F:.]+$/.test(v) || !v.includes(':'))
			throw new HttpError(400, `not an IPv6 address: ${v}`);
		return v.toLowerCase();
	}
	return v;
}

/** Start the mock on a free loopback port. */
export async function startMockPortal({ state = initialState(), secure = false } = {}) {
	const schemas = loadSchemas();
	const violations = [];
	const rejected = []; // request bodies refused by the schemas (400)
	const log = [];

	function violation(text) {
		violations.push(text);
		throw new HttpError(500, `contract violation: ${text}`);
	}

	function reply(res, status, body, schema, headers = {}) {
		if (body !== undefined && schema) {
			const err = schemas.validate(schema, body);
			if (err) {
				violations.push(`reply ${schema}: ${err}`);
				status = 500;
				body = { error: 'the mock sent an invalid reply' };
			}
		}
		const h = {
			'Cache-Control': 'no-store',
			'X-Content-Type-Options': 'nosniff',
			...headers,
		};
		if (body === undefined) {
			res.writeHead(status, h);
			res.end();
			return;
		}
		const data = Buffer.from(JSON.stringify(body));
		res.writeHead(status, { ...h, 'Content-Type': 'application/json', 'Content-Length': data.length });
		res.end(data);
	}

	function sessionOf(req) {
		const m = /(?:^|;\s*)ddns_session=([A-Za-z0-9_-]{43})(?:;|$)/.exec(req.headers.cookie || '');
		if (!m)
			return null;
		const s = state.sessions.get(m[1]);
		if (!s || s.expires < Date.now())
			return null;
		return { id: m[1], ...s, user: state.users.find((u) => u.id === s.userId) };
	}

	async function readJson(req, schema) {
		const chunks = [];
		let size = 0;
		for await (const c of req) {
			size += c.length;
			if (size > 16384)
				throw new HttpError(413, 'request body too large (16 KiB at most)');
			chunks.push(c);
		}
		const text = Buffer.concat(chunks).toString('utf8');
		if (!schema) {
			if (text && text !== '{}')
				throw new HttpError(400, 'this request takes no body');
			return null;
		}
		if (!/^application\/json\s*(;|$)/i.test(req.headers['content-type'] || ''))
			throw new HttpError(415, 'send the body as application/json');
		let body;
		try {
			body = JSON.parse(text);
		} catch {
			throw new HttpError(400, 'the body is not valid JSON');
		}
		const v = schemas.ajv.getSchema(`${schema}.json`);
		if (!v(body)) {
			// what the C side answers too: 400, naming the member
			const e = v.errors[0];
			const where = e.instancePath ? e.instancePath.slice(1).replace(/\//g, '.') : 'body';
			const text = `${where}: ${e.message}`;
			rejected.push(`${schema}: ${text}`);
			throw new HttpError(400, text);
		}
		return body;
	}

	function findHost(user, fqdn) {
		const h = state.hosts.find((x) => x.fqdn === normName(fqdn));
		if (!h || !(user.admin || h.owner === user.name))
			throw new HttpError(404, `no such host: ${normName(fqdn)}`);
		return h;
	}

	function findDomain(zone) {
		const d = state.domains.find((x) => x.zone === normName(zone));
		if (!d)
			throw new HttpError(404, `no such domain: ${normName(zone)}`);
		return d;
	}

	function requireAdmin(user) {
		if (!user.admin)
			throw new HttpError(403, 'only administrators may do this');
	}

	async function api(req, res, url) {
		const route = url.pathname.slice('/api/v1'.length);
		const m = req.method;
		const sess = sessionOf(req);
		const need = () => {
			if (!sess)
				throw new HttpError(401, 'log in first', { 'WWW-Authenticate': 'Bearer realm="ddns"' });
			return sess.user;
		};
		if (m !== 'GET' && m !== 'HEAD') {
			const origin = req.headers.origin;
			if (origin && origin !== `http://${req.headers.host}`)
				throw new HttpError(403, 'cross-origin request refused');
			if (sess && req.headers['x-csrf-token'] !== sess.csrf && route !== '/login')
				violation(`${m} ${route} without the right X-CSRF-Token`);
		}
		log.push(`${m} ${url.pathname}${url.search}`);

		if (route === '/session' && m === 'GET') {
			return reply(res, 200, sess
				? { user: publicUser(sess.user), csrf: sess.csrf, expires: new Date(sess.expires).toISOString().replace(/\.\d+Z$/, 'Z') }
				: { user: null, csrf: null, expires: null }, 'session');
		}
		if (route === '/config' && m === 'GET')
			return reply(res, 200, state.config, 'config');
		if (route === '/login' && m === 'POST') {
			const b = await readJson(req, 'login-request');
			const u = state.users.find((x) => x.name === b.username);
			if (!u || u.password !== b.password)
				throw new HttpError(401, 'wrong user name or password', { 'WWW-Authenticate': 'Bearer realm="ddns"' });
			const id = crypto.randomBytes(32).toString('base64url');
			const s = { userId: u.id, csrf: crypto.randomBytes(32).toString('hex'), expires: Date.now() + 12 * 3600e3 };
			state.sessions.set(id, s);
			const cookie = `ddns_session=${id}; Path=/; HttpOnly; SameSite=Lax; Max-Age=43200${secure ? '; Secure' : ''}`;
			return reply(res, 200, { user: publicUser(u), csrf: s.csrf, expires: new Date(s.expires).toISOString().replace(/\.\d+Z$/, 'Z') },
				'session', { 'Set-Cookie': cookie });
		}
		if (route === '/logout' && m === 'POST') {
			await readJson(req, null);
			if (sess)
				state.sessions.delete(sess.id);
			return reply(res, 204, undefined, null, { 'Set-Cookie': 'ddns_session=; Path=/; HttpOnly; SameSite=Lax; Max-Age=0' });
		}
		if (route === '/domains' && m === 'GET') {
			const u = need();
			const list = state.domains.filter((d) => mayUse(u, d)).sort((a, b) => a.zone.localeCompare(b.zone));
			return reply(res, 200, { domains: list }, 'domain-list');
		}
		if (route === '/domains' && m === 'POST') {
			const u = need();
			requireAdmin(u);
			const b = await readJson(req, 'domain-create-request');
			const zone = normName(b.zone);
			if (!LDH.test(zone))
				throw new HttpError(400, `invalid zone name: ${b.zone}`);
			if (state.domains.some((d) => d.zone === zone))
				throw new HttpError(409, `zone ${zone} exists`);
			const d = {
				zone, ttl: b.ttl ?? 60, ns: b.ns.map(normName), hostmaster: b.hostmaster.includes('@') ? b.hostmaster : b.hostmaster.replace('.', '@'),
				visibility: b.visibility ?? 'public', groups: b.groups ?? [],
			};
			state.domains.push(d);
			return reply(res, 201, d, 'domain', { Location: `/api/v1/domains/${zone}` });
		}
		let mm = /^\/domains\/([^/]+)$/.exec(route);
		if (mm) {
			const u = need();
			requireAdmin(u);
			const d = findDomain(decodeURIComponent(mm[1]));
			if (m === 'PATCH') {
				const b = await readJson(req, 'domain-update-request');
				const next = { ...d, ...b };
				if (b.ns)
					next.ns = b.ns.map(normName);
				if (next.visibility === 'private' && !next.groups.length)
					throw new HttpError(400, 'a private zone needs at least one group');
				Object.assign(d, next);
				return reply(res, 200, d, 'domain');
			}
			if (m === 'DELETE') {
				await readJson(req, null);
				if (state.hosts.some((x) => x.zone === d.zone))
					throw new HttpError(409, `zone ${d.zone} still has hosts: delete them first`);
				state.domains = state.domains.filter((x) => x !== d);
				return reply(res, 204);
			}
			throw new HttpError(405, 'method not allowed', { Allow: 'PATCH, DELETE' });
		}
		if (route === '/hosts' && m === 'GET') {
			const u = need();
			const all = url.searchParams.get('all') === 'true';
			if (all)
				requireAdmin(u);
			const list = state.hosts.filter((x) => all || x.owner === u.name)
				.sort((a, b) => a.fqdn.localeCompare(b.fqdn));
			return reply(res, 200, { hosts: list }, 'host-list');
		}
		if (route === '/hosts' && m === 'POST') {
			const u = need();
			const b = await readJson(req, 'host-create-request');
			let fqdn, zone;
			if (b.fqdn) {
				fqdn = normName(b.fqdn);
				zone = state.domains.map((d) => d.zone).filter((z) => fqdn.endsWith(`.${z}`))
					.sort((a, c) => c.length - a.length)[0];
				if (!zone)
					throw new HttpError(404, `no domain contains ${fqdn}`);
			} else {
				zone = normName(b.domain);
				fqdn = `${normName(b.name)}.${zone}`;
			}
			if (!LDH.test(fqdn))
				throw new HttpError(400, `invalid name: ${fqdn}`);
			if (fqdn.slice(0, -(zone.length + 1)).includes('.'))
				throw new HttpError(400, `${fqdn} must lie one label below ${zone}`);
			const d = findDomain(zone);
			if (!mayUse(u, d))
				throw new HttpError(403, `you may not add hosts to ${zone}`);
			if (state.hosts.some((x) => x.fqdn === fqdn))
				throw new HttpError(409, `${fqdn} exists`);
			const t = now();
			const host = {
				fqdn, name: fqdn.slice(0, -(zone.length + 1)), zone,
				ipv4: b.ipv4 ?? null, ipv6: b.ipv6 ? checkAddr('ipv6', b.ipv6) : null,
				updated: b.ipv4 || b.ipv6 ? t : null, created: t, comment: b.comment ?? '',
				wildcard: b.wildcard ?? false, tls4: false, tls6: false, abuse: false, blocked: false,
				client_faults: 0, server_faults: 0, auth_faults: 0, last_fault: null,
				last_fault_text: null, owner: u.name,
			};
			state.hosts.push(host);
			const secret = newSecret();
			state.secrets.set(fqdn, secret);
			return reply(res, 201, { host, secret }, 'host-created', { Location: `/api/v1/hosts/${fqdn}` });
		}
		mm = /^\/hosts\/([^/]+)(\/secret)?$/.exec(route);
		if (mm) {
			const u = need();
			const h = findHost(u, decodeURIComponent(mm[1]));
			if (mm[2]) {
				if (m !== 'POST')
					throw new HttpError(405, 'method not allowed', { Allow: 'POST' });
				await readJson(req, null);
				const secret = newSecret();
				state.secrets.set(h.fqdn, secret);
				return reply(res, 200, { fqdn: h.fqdn, secret }, 'secret');
			}
			if (m === 'GET')
				return reply(res, 200, h, 'host');
			if (m === 'PATCH') {
				const b = await readJson(req, 'host-update-request');
				if ('blocked' in b)
					requireAdmin(u);
				const next = { ...h };
				for (const k of ['ipv4', 'ipv6']) {
					if (k in b) {
						next[k] = b[k] === null ? null : checkAddr(k, b[k]);
						next[k === 'ipv4' ? 'tls4' : 'tls6'] = secure;
						next.updated = now();
					}
				}
				if ('comment' in b)
					next.comment = b.comment;
				if ('wildcard' in b)
					next.wildcard = b.wildcard;
				if (b.clear_abuse)
					next.abuse = false;
				if ('blocked' in b)
					next.blocked = b.blocked;
				Object.assign(h, next);
				return reply(res, 200, h, 'host');
			}
			if (m === 'DELETE') {
				await readJson(req, null);
				state.hosts = state.hosts.filter((x) => x !== h);
				state.secrets.delete(h.fqdn);
				return reply(res, 204);
			}
			throw new HttpError(405, 'method not allowed', { Allow: 'GET, PATCH, DELETE' });
		}
		throw new HttpError(404, 'no such API path');
	}

	function serveStatic(req, res, url) {
		if (url.pathname.startsWith('/oidc/login/')) {
			// the real server redirects to the provider; the mock has none
			res.writeHead(302, { Location: '/login.html?error=oidc_provider' });
			res.end();
			return;
		}
		let rel = decodeURIComponent(url.pathname);
		if (rel === '/')
			rel = '/index.html';
		const file = path.join(PORTAL_DIR, path.normalize(rel));
		const type = TYPES[path.extname(file)];
		if (!file.startsWith(PORTAL_DIR + path.sep) || !type || !fs.existsSync(file) ||
		    (req.method !== 'GET' && req.method !== 'HEAD')) {
			res.writeHead(404, { 'Content-Type': 'text/plain' });
			res.end('not found\n');
			return;
		}
		const data = fs.readFileSync(file);
		res.writeHead(200, { ...STATIC_HEADERS, 'Content-Type': type, 'Content-Length': data.length });
		res.end(req.method === 'HEAD' ? undefined : data);
	}

	const server = http.createServer((req, res) => {
		const url = new URL(req.url, `http://${req.headers.host}`);
		if (!url.pathname.startsWith('/api/v1/')) {
			serveStatic(req, res, url);
			return;
		}
		api(req, res, url).catch((e) => {
			const status = e instanceof HttpError ? e.status : 500;
			if (!(e instanceof HttpError))
				violations.push(`mock crashed: ${e.stack}`);
			reply(res, status, { error: e.message.slice(0, 300) }, 'error', e.headers || {});
		});
	});
	const port = await listenLoopback(server);
	return {
		origin: `http://127.0.0.1:${port}`,
		port,
		state,
		violations,
		rejected,
		log,
		stop: () => closeServer(server),
	};
}

// node mock-api.mjs: run it by hand, to look at the portal in a browser.
if (process.argv[1] && path.resolve(process.argv[1]) === path.join(path.dirname(new URL(import.meta.url).pathname), 'mock-api.mjs')) {
	startMockPortal().then((m) => {
		process.stdout.write(`mock portal on ${m.origin}/ (alice/alice-pw, admin/admin-pw)\n`);
	});
}
