// host.js -- one host: details, comment, wildcard, addresses by hand,
// abuse, block (admins), "Show configuration" (a new secret), delete.
import {
	$, ApiError, addrEl, api, busy, confirmDialog, fail, fill, flash,
	h, hostPath, initPage, say, secretPanel, stateBadges, timeEl, tlsBadge,
} from './portal.js';

const IPV4 = /^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}$/;

let host = null;
let session = null;

function details(x) {
	const row = (k, v) => [h('dt', {}, k), h('dd', {}, v)];
	return h('dl', { class: 'details' },
		row('State', stateBadges(x)),
		row('IPv4', addrEl(x.ipv4)),
		row('IPv6', addrEl(x.ipv6)),
		row('Last update', timeEl(x.updated)),
		row('Over TLS', tlsBadge(x)),
		row('Zone', x.zone),
		row('Created', timeEl(x.created, '', false)),
		session.user.admin ? row('Owner', x.owner ?? h('span', { class: 'none' }, 'the operator')) : null,
		row('Faults', `client ${x.client_faults} · server ${x.server_faults} · authentication ${x.auth_faults}`),
		row('Last fault', x.last_fault
			? [timeEl(x.last_fault), x.last_fault_text ? h('div', { class: 'mono' }, x.last_fault_text) : null]
			: h('span', { class: 'none' }, 'none')));
}

async function patch(body, button, done) {
	await busy(button, async () => {
		host = await api('PATCH', hostPath(host.fqdn), body);
		render();
		say(done, 'ok');
	});
}

function settingsForm(x) {
	const comment = h('input', { type: 'text', id: 'comment', maxlength: '200', autocomplete: 'off', value: x.comment });
	const wildcard = h('input', { type: 'checkbox', id: 'wildcard', checked: x.wildcard, 'aria-describedby': 'wildcard-hint' });
	const save = h('button', { type: 'submit', id: 'save-settings' }, 'Save');
	return h('form', {
		id: 'settings', on: {
			submit: (ev) => {
				ev.preventDefault();
				patch({ comment: comment.value.trim(), wildcard: wildcard.checked }, save, 'Saved.');
			},
		},
	},
	h('div', { class: 'field' }, h('label', { for: 'comment' }, 'Comment'), comment),
	h('div', { class: 'check' }, wildcard,
		h('label', { for: 'wildcard' }, `Wildcard: every name below ${x.fqdn} answers too`,
			h('span', { class: 'hint', id: 'wildcard-hint' }, `e.g. app.${x.fqdn}`))),
	h('div', { class: 'actions' }, save));
}

function addressForm(fam, x) {
	const key = fam === 4 ? 'ipv4' : 'ipv6';
	const label = fam === 4 ? 'IPv4 address' : 'IPv6 address';
	const input = h('input', {
		type: 'text', id: key, value: x[key] ?? '', autocomplete: 'off', spellcheck: 'false',
		inputmode: fam === 4 ? 'decimal' : 'text', placeholder: fam === 4 ? '192.0.2.10' : '2001:db8::10',
		'aria-describedby': `${key}-hint`,
	});
	const set = h('button', { type: 'submit', id: `set-${key}` }, `Set ${fam === 4 ? 'IPv4' : 'IPv6'}`);
	const clear = h('button', {
		type: 'button', class: 'secondary', id: `clear-${key}`, disabled: !x[key],
		on: { click: () => patch({ [key]: null }, clear, `${label} removed.`) },
	}, `Remove ${fam === 4 ? 'IPv4' : 'IPv6'}`);
	return h('form', {
		id: `form-${key}`, on: {
			submit: (ev) => {
				ev.preventDefault();
				const v = input.value.trim();
				if (!v) {
					input.setAttribute('aria-invalid', 'true');
					fail(`Enter an ${label}, or use "Remove".`);
					input.focus();
					return;
				}
				if (fam === 4 && !IPV4.test(v)) {
					input.setAttribute('aria-invalid', 'true');
					fail(`${v} is not an IPv4 address (four numbers 0 to 255 with dots, e.g. 192.0.2.10).`);
					input.focus();
					return;
				}
				input.removeAttribute('aria-invalid');
				patch({ [key]: v }, set, `${label} set to ${v}.`);
			},
		},
	},
	h('div', { class: 'inline-field' },
		h('div', { class: 'field' }, h('label', { for: key }, label), input),
		h('div', { class: 'actions' }, set, clear)),
	h('span', { class: 'hint', id: `${key}-hint` },
		x[key] ? '' : 'None now: the name has no record of this family.'));
}

function abuseSection(x) {
	if (!x.abuse && !x.blocked && !session.user.admin)
		return null;
	const parts = [h('h2', { id: 'abuse-title' }, 'Abuse')];
	if (x.abuse) {
		const b = h('button', {
			type: 'button', id: 'clear-abuse',
			on: { click: () => patch({ clear_abuse: true }, b, 'The abuse flag is cleared: the host is back in the DNS.') },
		}, 'Clear the abuse flag');
		parts.push(h('p', {}, 'Its client sent too many faulty or repeated updates, so its records were withdrawn. ',
			'Fix the client (it should update only when its address changes), then clear the flag.'), b);
	}
	if (x.blocked)
		parts.push(h('p', {}, 'An administrator blocked this host: it is not in the DNS.'));
	if (session.user.admin) {
		const b = h('button', {
			type: 'button', class: 'secondary', id: 'toggle-block',
			on: { click: () => patch({ blocked: !x.blocked }, b, x.blocked ? 'Unblocked.' : 'Blocked.') },
		}, x.blocked ? 'Unblock (admin)' : 'Block (admin)');
		parts.push(h('div', { class: 'actions' }, b));
	}
	return h('section', { class: 'panel', 'aria-labelledby': 'abuse-title' }, parts);
}

async function newSecret(button) {
	const yes = await confirmDialog({
		title: 'Make a new secret?',
		text: `The current secret of ${host.fqdn} stops working at once: every client that uses it must get the new one.`,
		confirm: 'Make a new secret',
	});
	if (!yes)
		return;
	await busy(button, async () => {
		const r = await api('POST', hostPath(host.fqdn, '/secret'));
		const panel = await secretPanel(r.fqdn, r.secret,
			h('p', { class: 'msg msg-warn' }, h('strong', {}, 'The old secret no longer works. '),
				'Put this one in every client of this host.'));
		fill($('#config'), panel);
		say('A new secret is shown below; the old one no longer works.', 'warn');
		$('#secret-title').focus();
	});
}

async function remove(button) {
	const yes = await confirmDialog({
		title: `Delete ${host.fqdn}?`,
		text: 'Its DNS records disappear at once and its secret stops working. This cannot be undone.',
		confirm: 'Delete host', danger: true,
	});
	if (!yes)
		return;
	await busy(button, async () => {
		await api('DELETE', hostPath(host.fqdn));
		flash(`Host ${host.fqdn} deleted.`);
		location.assign('index.html');
	});
}

function render() {
	const x = host;
	document.title = `${x.fqdn} · ddns`;
	fill($('#title'), x.fqdn);
	const show = h('button', { type: 'button', id: 'show-config', on: { click: () => newSecret(show) } }, 'Show configuration');
	const del = h('button', { type: 'button', class: 'danger', id: 'delete', on: { click: () => remove(del) } }, 'Delete host');
	const old = $('#config');
	fill($('#host'),
		details(x),
		h('section', { 'aria-labelledby': 'settings-title' },
			h('h2', { id: 'settings-title' }, 'Settings'), settingsForm(x)),
		h('section', { 'aria-labelledby': 'addr-title' },
			h('h2', { id: 'addr-title' }, 'Addresses by hand'),
			h('p', { class: 'muted' }, 'Normally the host\'s client sets them. A hand-set address stays until the next update.'),
			addressForm(4, x), addressForm(6, x)),
		abuseSection(x),
		h('section', { 'aria-labelledby': 'config-title' },
			h('h2', { id: 'config-title' }, 'Configuration'),
			h('p', {}, 'Shows ready-to-copy lines for curl, cloud-init, ddclient and inadyn with a new secret. ',
				'The secret is shown once; making a new one stops the current one at once.'),
			h('div', { class: 'actions' }, show),
			old && old.childNodes.length ? old : h('div', { id: 'config' })),
		h('section', { 'aria-labelledby': 'delete-title' },
			h('h2', { id: 'delete-title' }, 'Delete'),
			h('p', {}, 'Removes the name and its records for good.'),
			h('div', { class: 'actions' }, del)));
}

async function main() {
	session = await initPage();
	const fqdn = new URLSearchParams(location.search).get('fqdn');
	const box = $('#host');
	if (!fqdn) {
		fill(box, h('p', {}, 'No host chosen. ', h('a', { href: 'index.html' }, 'See your hosts.')));
		return;
	}
	try {
		host = await api('GET', hostPath(fqdn));
	} catch (e) {
		fill(box);
		if (e instanceof ApiError && e.status === 404)
			fail(`There is no host ${fqdn} of yours.`);
		else
			fail(e);
		return;
	} finally {
		box.setAttribute('aria-busy', 'false');
	}
	render();
}

main().catch(() => {});
