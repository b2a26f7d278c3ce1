// portal.js -- helpers shared by every page of the ddns portal (an ES module).
//
// - api(): fetch() wrapper for /api/v1: JSON in and out, same-origin
//   credentials (the HttpOnly ddns_session cookie), the X-CSRF-Token header
//   (from GET /api/v1/session) on every request that is not GET/HEAD, a
//   redirect to the login page on 401, and an ApiError carrying the
//   server's {"error": "..."} text otherwise.
// - h(): builds DOM nodes; text always goes through text nodes, never
//   innerHTML, so nothing the server or the user typed is ever parsed as HTML.
// - say()/fail(): messages in the page's aria-live regions.
// - initPage(): the common header (user, admin link, log-out button).
// - secretPanel(): the secret shown once, with the client snippets (the same
//   lines as the README's "Clients" section) and copy buttons.
// - confirmDialog(): an accessible modal <dialog> for destructive actions.

const API = '/api/v1';

/** An error reply of the API (STATUS 0: no reply at all). */
export class ApiError extends Error {
	constructor(status, message) {
		super(message);
		this.name = 'ApiError';
		this.status = status;
	}
}

let sessionPromise = null;

/** The caller's session (GET /api/v1/session), fetched once per page. */
export function getSession(refresh = false) {
	if (!sessionPromise || refresh)
		sessionPromise = api('GET', '/session', undefined, { redirect: false });
	return sessionPromise;
}

let configPromise = null;

/** GET /api/v1/config, fetched once per page. */
export function getConfig() {
	if (!configPromise)
		configPromise = api('GET', '/config', undefined, { redirect: false });
	return configPromise;
}

/** A local path safe to go back to after login ("/..." but not "//..."), or
 *  the overview. */
export function safeNext(value) {
	if (typeof value === 'string' && /^\/(?![/\\])[^\s\\]*$/.test(value))
		return value;
	return 'index.html';
}

/** Go to the login page, coming back here afterwards. */
export function goLogin() {
	const next = location.pathname + location.search;
	location.assign(`login.html?next=${encodeURIComponent(next)}`);
}

/**
 * Call the API: METHOD on /api/v1 + PATH with BODY (an object, sent as
 * JSON; undefined: no body). Resolves to the parsed reply (null for 204).
 * Rejects with an ApiError. On 401 it goes to the login page, unless
 * OPTS.redirect is false.
 */
export async function api(method, path, body, opts = {}) {
	const headers = { Accept: 'application/json' };
	if (body !== undefined)
		headers['Content-Type'] = 'application/json';
	if (method !== 'GET' && method !== 'HEAD') {
		const s = await getSession();
		if (s && s.csrf)
			headers['X-CSRF-Token'] = s.csrf;
	}
	let res;
	try {
		res = await fetch(API + path, {
			method,
			headers,
			body: body === undefined ? undefined : JSON.stringify(body),
			credentials: 'same-origin',
			cache: 'no-store',
			redirect: 'error',
		});
	} catch {
		throw new ApiError(0, 'The server cannot be reached. Check your connection and try again.');
	}
	if (res.status === 401 && opts.redirect !== false) {
		goLogin();
		const e = new ApiError(401, 'Your session has ended. Please log in again.');
		e.redirected = true;
		throw e;
	}
	let data = null;
	if (res.status !== 204) {
		const text = await res.text();
		try {
			data = text ? JSON.parse(text) : null;
		} catch {
			data = null;
		}
	}
	if (!res.ok) {
		const msg = data && typeof data.error === 'string' && data.error
			? data.error
			: `The request failed (HTTP ${res.status}).`;
		throw new ApiError(res.status, msg);
	}
	return data;
}

/** The path of a host's API resource. */
export function hostPath(fqdn, suffix = '') {
	return `/hosts/${encodeURIComponent(fqdn)}${suffix}`;
}

/** The portal page of a host. */
export function hostPage(fqdn) {
	return `host.html?fqdn=${encodeURIComponent(fqdn)}`;
}

/**
 * Build an element: h('a', { href: 'x', class: 'y', on: { click: f } },
 * 'text', child...). Strings become text nodes; null/false children are
 * skipped; arrays are flattened. Attributes go through setAttribute, except
 * the DOM properties value, checked, disabled, hidden, selected.
 */
export function h(tag, props = {}, ...children) {
	const el = document.createElement(tag);
	for (const [k, v] of Object.entries(props || {})) {
		if (v === undefined || v === null || v === false)
			continue;
		if (k === 'on') {
			for (const [ev, fn] of Object.entries(v))
				el.addEventListener(ev, fn);
		} else if (k === 'class') {
			el.className = v;
		} else if (k === 'text') {
			el.textContent = v;
		} else if (['value', 'checked', 'disabled', 'hidden', 'selected'].includes(k)) {
			el[k] = v;
		} else {
			el.setAttribute(k, v === true ? '' : String(v));
		}
	}
	append(el, children);
	return el;
}

function append(el, children) {
	for (const c of children) {
		if (c === null || c === undefined || c === false)
			continue;
		if (Array.isArray(c))
			append(el, c);
		else
			el.append(c instanceof Node ? c : document.createTextNode(String(c)));
	}
}

/** Replace the children of EL with CHILDREN. */
export function fill(el, ...children) {
	el.replaceChildren();
	append(el, children);
	return el;
}

export const $ = (sel, root = document) => root.querySelector(sel);

/** A table cell labelled LABEL (shown before it when the table becomes
 *  cards on a narrow screen), its content wrapped in one element. */
export function cell(label, props, ...children) {
	return h('td', { ...props, 'data-label': label }, h('div', { class: 'cell' }, ...children));
}

// ---- messages ---------------------------------------------------------------

/** Show TEXT in the polite status region (KIND: info, ok, warn). */
export function say(text, kind = 'info') {
	const region = $('#status');
	if (region)
		fill(region, h('p', { class: `msg msg-${kind}` }, text));
	clearError();
}

/** Show an error (an ApiError, an Error or a text) in the alert region. */
export function fail(err) {
	const region = $('#alert');
	const text = err instanceof Error ? err.message : String(err);
	if (region)
		fill(region, h('p', { class: 'msg msg-error' }, text));
	const st = $('#status');
	if (st)
		st.replaceChildren();
}

export function clearError() {
	const region = $('#alert');
	if (region)
		region.replaceChildren();
}

/** Keep a message for the next page (shown by initPage there). */
export function flash(text) {
	try {
		sessionStorage.setItem('ddns-flash', text);
	} catch {
		/* private mode: the message is lost, nothing else */
	}
}

function showFlash() {
	try {
		const text = sessionStorage.getItem('ddns-flash');
		if (text) {
			sessionStorage.removeItem('ddns-flash');
			say(text, 'ok');
		}
	} catch {
		/* nothing to show */
	}
}

/**
 * Run FN(button) with BUTTON disabled meanwhile; an error goes to fail().
 * Returns FN's result, or undefined after an error.
 */
export async function busy(button, fn) {
	if (button)
		button.disabled = true;
	try {
		return await fn(button);
	} catch (e) {
		if (!e.redirected) // a redirect to the login page is under way
			fail(e);
		return undefined;
	} finally {
		if (button)
			button.disabled = false;
	}
}

// ---- page frame ------------------------------------------------------------

/**
 * Set up a page: the session (going to the login page without one), the
 * user's name and the log-out button, the admin-only navigation, and a
 * message left by the previous page. Resolves to the session.
 */
export async function initPage() {
	let s;
	try {
		s = await getSession();
	} catch (e) {
		fail(e);
		throw e;
	}
	if (!s.user) {
		goLogin();
		throw new ApiError(401, 'not logged in');
	}
	const who = $('#who');
	if (who) {
		const u = s.user;
		fill(who, u.display_name || u.name, u.admin ? ' (admin)' : '');
	}
	for (const el of document.querySelectorAll('[data-admin-only]'))
		el.hidden = !s.user.admin;
	const logout = $('#logout');
	if (logout) {
		logout.hidden = !s.csrf; // a token/bearer caller has no session to end
		logout.addEventListener('click', () => busy(logout, async () => {
			await api('POST', '/logout');
			location.assign('login.html?logged_out=1');
		}));
	}
	$('#user-box')?.removeAttribute('hidden');
	showFlash();
	return s;
}

// ---- formatting --------------------------------------------------------------

const dateFmt = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeStyle: 'short' });
const relFmt = new Intl.RelativeTimeFormat(undefined, { numeric: 'auto' });

/** "3 minutes ago" for the RFC 3339 time TS. */
export function relative(ts, now = Date.now()) {
	const s = Math.round((Date.parse(ts) - now) / 1000);
	const a = Math.abs(s);
	if (a < 45)
		return relFmt.format(0, 'second');
	if (a < 2700)
		return relFmt.format(Math.round(s / 60), 'minute');
	if (a < 64800)
		return relFmt.format(Math.round(s / 3600), 'hour');
	if (a < 2592000)
		return relFmt.format(Math.round(s / 86400), 'day');
	if (a < 31536000)
		return relFmt.format(Math.round(s / 2592000), 'month');
	return relFmt.format(Math.round(s / 31536000), 'year');
}

/** A <time> element for TS (RFC 3339), or a muted TEXT_IF_NONE. */
export function timeEl(ts, textIfNone = 'never', withRelative = true) {
	if (!ts)
		return h('span', { class: 'none' }, textIfNone);
	const d = new Date(ts);
	return h('time', { datetime: ts, title: d.toISOString() },
		dateFmt.format(d), withRelative ? ` (${relative(ts)})` : '');
}

/** An address cell's content: the address or a muted "none". */
export function addrEl(addr) {
	return addr ? h('span', { class: 'addr' }, addr) : h('span', { class: 'none' }, 'none');
}

export function badge(text, kind, title) {
	return h('span', { class: `badge badge-${kind}`, title }, text);
}

/** The badges of a host's state: abuse, blocked, or "active". */
export function stateBadges(host) {
	const out = [];
	if (host.blocked)
		out.push(badge('blocked', 'bad', 'Blocked by an administrator: not in the DNS'));
	if (host.abuse)
		out.push(badge('abuse', 'warn', 'Too many faulty updates: not in the DNS until the flag is cleared'));
	if (!out.length)
		out.push(badge('active', 'ok', 'Its records are in the DNS'));
	if (host.wildcard)
		out.push(badge('wildcard', 'info', `*.${host.fqdn} answers too`));
	return out;
}

/** The TLS badge: did the updates of the addresses it has come over TLS? */
export function tlsBadge(host) {
	const fams = [];
	if (host.ipv4)
		fams.push(host.tls4);
	if (host.ipv6)
		fams.push(host.tls6);
	if (!fams.length)
		return h('span', { class: 'none' }, '–');
	if (fams.every(Boolean))
		return badge('TLS', 'ok', 'The last updates came over HTTPS');
	if (fams.some(Boolean))
		return badge('partly TLS', 'warn', 'Some of the last updates came over plain HTTP');
	return badge('no TLS', 'warn', 'The last updates came over plain HTTP: the secret travelled in clear');
}

// ---- the secret and the snippets -------------------------------------------

/** The public updater's base: [portal] update_url, or this page's origin. */
export async function updateBase() {
	let base = location.origin;
	try {
		const c = await getConfig();
		if (c && typeof c.update_url === 'string' && c.update_url)
			base = c.update_url;
	} catch {
		/* the portal's own origin then */
	}
	return new URL(base);
}

/**
 * The client configurations for FQDN with SECRET against the updater at
 * BASE (a URL): [{ id, title, where, text }]. The same lines as the
 * README's "Clients" section.
 */
export function snippets(fqdn, secret, base) {
	const scheme = base.protocol === 'https:' ? 'https' : 'http';
	const tls = scheme === 'https';
	const host = base.host; // with the port when it is not the default one
	const url = `${scheme}://${fqdn}:${secret}@${host}/nic/update`;
	return [
		{
			id: 'curl', title: 'curl', wrap: true,
			where: 'Run it on the machine: the address becomes the one the request comes from.',
			text: `curl "${url}"`,
		},
		{
			id: 'cloud-init', title: 'cloud-init',
			where: 'In the user data of a VM: updates the address at every boot.',
			text: `#cloud-config\nruncmd:\n  - [ curl, -fsS, --retry, "5", "${url}" ]`,
		},
		{
			id: 'ddclient', title: 'ddclient',
			where: '/etc/ddclient.conf (mode 0600), for ddclient 3.10 or later.',
			text: [
				'daemon=0',
				'syslog=no',
				`ssl=${tls ? 'yes' : 'no'}`,
				`use=web, web=${scheme}://${host}/myip`,
				'protocol=dyndns2',
				`server=${host}`,
				`login=${fqdn}`,
				`password='${secret}'`,
				fqdn,
			].join('\n'),
		},
		{
			id: 'inadyn', title: 'inadyn',
			where: '/etc/inadyn.conf, for inadyn 2.10 or later.',
			text: [
				'period = 300',
				'custom ddns {',
				`    ssl            = ${tls}`,
				`    username       = ${fqdn}`,
				`    password       = ${secret}`,
				`    checkip-server = ${host}`,
				'    checkip-path   = /myip',
				`    checkip-ssl    = ${tls}`,
				`    ddns-server    = ${host}`,
				'    ddns-path      = "/nic/update?hostname=%h&myip=%i"',
				`    hostname       = ${fqdn}`,
				'}',
			].join('\n'),
		},
	];
}

/** Copy TEXT to the clipboard (with a fallback for plain-HTTP pages). */
export async function copyText(text) {
	if (navigator.clipboard && window.isSecureContext) {
		try {
			await navigator.clipboard.writeText(text);
			return true;
		} catch {
			/* fall back below */
		}
	}
	const ta = h('textarea', { class: 'visually-hidden', readonly: true, 'aria-hidden': 'true' });
	ta.value = text;
	document.body.append(ta);
	ta.select();
	let ok = false;
	try {
		ok = document.execCommand('copy');
	} catch {
		ok = false;
	}
	ta.remove();
	return ok;
}

function copyButton(label, getText, name) {
	const b = h('button', { type: 'button', class: 'secondary small', 'data-copy': name, 'aria-label': label }, 'Copy');
	b.addEventListener('click', async () => {
		const ok = await copyText(getText());
		say(ok ? `Copied ${name} to the clipboard.` : 'Could not copy: select the text and copy it by hand.',
			ok ? 'ok' : 'warn');
		if (ok) {
			b.textContent = 'Copied';
			setTimeout(() => { b.textContent = 'Copy'; }, 2000);
		}
	});
	return b;
}

/**
 * The panel that shows SECRET of FQDN once, with the snippets. INTRO: the
 * sentence(s) above it (e.g. the warning that the old secret stopped).
 */
export async function secretPanel(fqdn, secret, intro) {
	const base = await updateBase();
	const items = snippets(fqdn, secret, base);
	return h('section', { class: 'panel secret-box', 'aria-labelledby': 'secret-title', id: 'secret-panel' },
		h('h2', { id: 'secret-title', tabindex: '-1' }, `Secret of ${fqdn}`),
		intro,
		h('p', {}, h('strong', {}, 'It is shown only now.'),
			' The portal keeps only a hash of it: copy it into your client now. ',
			'If you lose it, "Show configuration" on the host\'s page makes a new one.'),
		h('div', { class: 'secret-line' },
			h('span', { class: 'label', id: 'secret-label' }, 'Secret'),
			h('code', { class: 'secret', id: 'secret', 'aria-labelledby': 'secret-label' }, secret),
			copyButton('Copy the secret', () => secret, 'the secret')),
		h('p', {}, 'User name: ', h('code', { class: 'addr' }, fqdn),
			' · Update URL: ', h('code', { class: 'addr' }, `${base.protocol}//${base.host}/nic/update`)),
		items.map((s) => h('div', { class: 'snippet', 'data-snippet': s.id },
			h('div', { class: 'snippet-head' },
				h('h3', { id: `snip-${s.id}` }, s.title),
				copyButton(`Copy the ${s.title} configuration`, () => s.text, `the ${s.title} configuration`)),
			h('p', { class: 'hint' }, s.where),
			h('pre', { tabindex: '0', class: s.wrap ? 'wrap' : null, 'aria-labelledby': `snip-${s.id}` },
				h('code', { id: `snippet-${s.id}` }, s.text)))));
}

// ---- confirmation dialog -----------------------------------------------------

/**
 * Ask for confirmation in a modal <dialog>. Resolves to true when the user
 * chose CONFIRM (the button's text), false on Cancel or Escape.
 */
export function confirmDialog({ title, text, confirm, danger = false }) {
	return new Promise((resolve) => {
		const ok = h('button', { type: 'submit', value: 'yes', class: danger ? 'danger' : '' }, confirm);
		const cancel = h('button', { type: 'submit', value: 'no', class: 'secondary' }, 'Cancel');
		const dlg = h('dialog', { 'aria-labelledby': 'dlg-title', 'aria-describedby': 'dlg-text' },
			h('form', { method: 'dialog' },
				h('h2', { id: 'dlg-title' }, title),
				h('p', { id: 'dlg-text' }, text),
				h('div', { class: 'actions' }, ok, cancel)));
		dlg.addEventListener('close', () => {
			resolve(dlg.returnValue === 'yes');
			dlg.remove();
		});
		document.body.append(dlg);
		dlg.showModal();
		cancel.focus(); // the safe choice has the focus
	});
}
