// new.js -- add a host: a name, a domain; then its secret, shown once.
import {
	$, api, busy, clearError, fail, fill, h, hostPage, initPage, say, secretPanel,
} from './portal.js';

const VIS = { public: '', private: ' (private)', admin: ' (admins only)' };

function preview() {
	const name = $('#name').value.trim().toLowerCase();
	const zone = $('#domain').value;
	$('#preview').value = name && zone ? `${name}.${zone}` : '–';
}

async function create(ev) {
	ev.preventDefault();
	const name = $('#name');
	const comment = $('#comment');
	name.removeAttribute('aria-invalid');
	comment.removeAttribute('aria-invalid');
	name.value = name.value.trim();
	if (!name.checkValidity()) {
		name.setAttribute('aria-invalid', 'true');
		fail(name.value
			? 'The name may hold letters, digits and hyphens (not at its start or end), at most 63.'
			: 'Enter a name for the host.');
		name.focus();
		return;
	}
	const body = { name: name.value, domain: $('#domain').value };
	if (comment.value.trim())
		body.comment = comment.value.trim();
	if ($('#wildcard').checked)
		body.wildcard = true;
	await busy($('#create'), async () => {
		const r = await api('POST', '/hosts', body);
		clearError();
		$('#new-host').hidden = true;
		$('.lead').hidden = true;
		const panel = await secretPanel(r.host.fqdn, r.secret,
			h('p', {}, `${r.host.fqdn} is ready. Give its machine the secret below; `,
				'its address appears in the DNS with the first update.'));
		fill($('#result'), panel,
			h('div', { class: 'actions' },
				h('a', { class: 'button', href: hostPage(r.host.fqdn) }, `Manage ${r.host.fqdn}`),
				h('a', { class: 'button secondary', href: 'index.html' }, 'Back to your hosts')));
		say(`Host ${r.host.fqdn} added.`, 'ok');
		$('#secret-title').focus();
	});
}

async function main() {
	await initPage();
	let domains;
	try {
		domains = (await api('GET', '/domains')).domains;
	} catch (e) {
		fail(e);
		return;
	}
	if (!domains.length) {
		fill($('#result'), h('div', { class: 'panel' },
			h('p', {}, 'No domain is open to you yet. Ask the administrators for one.')));
		return;
	}
	const want = new URLSearchParams(location.search).get('domain');
	const sel = $('#domain');
	for (const d of domains)
		sel.append(h('option', { value: d.zone, selected: d.zone === want }, d.zone + VIS[d.visibility]));
	$('#new-host').hidden = false;
	$('#name').addEventListener('input', preview);
	sel.addEventListener('change', preview);
	$('#new-host').addEventListener('submit', create);
	preview();
}

main().catch(() => {});
