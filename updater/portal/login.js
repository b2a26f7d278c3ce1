// login.js -- the login page: a button per OpenID provider, the local form.
import { $, ApiError, api, busy, fail, getConfig, getSession, h, safeNext, say } from './portal.js';

// Codes the server's /oidc/callback puts in ?error= (schema/api/README.md).
const OIDC_ERRORS = {
	oidc_state: 'The login took too long or was started in another window. Please try again.',
	oidc_denied: 'The identity provider did not let you in (you cancelled, or it refused).',
	oidc_token: 'The answer of the identity provider could not be verified. Please try again; if it happens again, tell the administrators.',
	oidc_account: 'Your account may not use this service. Ask the administrators.',
	oidc_provider: 'The identity provider cannot be reached. Please try again later.',
};

async function main() {
	const q = new URLSearchParams(location.search);
	const next = safeNext(q.get('next'));
	const err = q.get('error');
	if (err)
		fail(OIDC_ERRORS[err] || 'The login failed. Please try again.');
	else if (q.get('logged_out'))
		say('You are logged out.', 'ok');

	try {
		const s = await getSession();
		if (s.user) {
			location.replace(next);
			return;
		}
	} catch (e) {
		fail(e);
	}

	let cfg;
	try {
		cfg = await getConfig();
	} catch (e) {
		fail(e);
		return;
	}
	const providers = $('#providers');
	for (const p of cfg.oidc_providers) {
		const href = `${p.login_url}?next=${encodeURIComponent(next)}`;
		providers.append(h('a', { class: 'button provider', href, 'data-provider': p.id },
			`Log in with ${p.title}`));
	}
	$('#providers-section').hidden = cfg.oidc_providers.length === 0;
	$('#or').hidden = !(cfg.oidc_providers.length && cfg.local_login);
	if (!cfg.oidc_providers.length && !cfg.local_login)
		fail('No way to log in is configured. Ask the administrators.');

	const form = $('#login-form');
	form.hidden = !cfg.local_login;
	form.addEventListener('submit', (ev) => {
		ev.preventDefault();
		const user = $('#username');
		const pass = $('#password');
		for (const f of [user, pass])
			f.removeAttribute('aria-invalid');
		const empty = [user, pass].find((f) => !f.value);
		if (empty) {
			empty.setAttribute('aria-invalid', 'true');
			fail(empty === user ? 'Enter your user name.' : 'Enter your password.');
			empty.focus();
			return;
		}
		busy($('#login'), async () => {
			try {
				await api('POST', '/login', { username: user.value, password: pass.value },
					{ redirect: false });
			} catch (e) {
				if (e instanceof ApiError && e.status === 401) {
					pass.value = '';
					pass.setAttribute('aria-invalid', 'true');
					pass.focus();
				}
				throw e;
			}
			location.assign(next);
		});
	});
}

main();
