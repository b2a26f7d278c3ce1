// domains.js -- the zones; admins add, edit and delete them.
import {
	$, api, badge, busy, cell, confirmDialog, fail, fill, h, initPage, say,
} from './portal.js';

const VIS = {
	public: ['public', 'ok', 'Every user may add hosts'],
	private: ['private', 'info', 'Members of its groups may add hosts'],
	admin: ['admins only', 'neutral', 'Only administrators may add hosts'],
};

let admin = false;
let editing = null; // the zone being edited, or null when adding

// name servers: one per line (commas and spaces also separate); groups: one
// per line or space (a group may hold a comma)
const names = (text) => text.split(/[\s,]+/).filter(Boolean);
const words = (text) => text.split(/\s+/).filter(Boolean);

function row(d) {
	const [vtext, vkind, vtitle] = VIS[d.visibility];
	const edit = h('button', {
		type: 'button', class: 'secondary small', 'aria-label': `Edit ${d.zone}`,
		on: { click: () => startEdit(d) },
	}, 'Edit');
	const del = h('button', {
		type: 'button', class: 'danger secondary small', 'aria-label': `Delete ${d.zone}`,
		on: { click: () => remove(d, del) },
	}, 'Delete');
	return h('tr', {},
		h('td', { class: 'title', 'data-label': 'Zone' }, h('strong', { class: 'addr' }, d.zone)),
		cell('Who may use it', {}, badge(vtext, vkind, vtitle)),
		cell('Groups', {}, d.groups.length
			? d.groups.map((g) => h('div', { class: 'mono' }, g))
			: h('span', { class: 'none' }, 'none')),
		cell('TTL', { class: 'num' }, `${d.ttl} s`),
		cell('Name servers', {}, d.ns.map((n) => h('div', { class: 'addr' }, n))),
		cell('Hostmaster', {}, h('span', { class: 'addr' }, d.hostmaster)),
		admin ? cell('Actions', {}, h('div', { class: 'actions' }, edit, del)) : null);
}

async function load() {
	const box = $('#domains');
	box.setAttribute('aria-busy', 'true');
	try {
		const { domains } = await api('GET', '/domains');
		const cols = ['Zone', 'Who may use it', 'Groups', 'TTL', 'Name servers', 'Hostmaster'];
		if (admin)
			cols.push('Actions');
		fill(box, h('h2', { id: 'domains-title', class: 'visually-hidden' }, 'Zones'),
			domains.length
				? h('div', { class: 'table-wrap' }, h('table', { class: 'cards', id: 'domains-table' },
					h('caption', { class: 'visually-hidden' }, `${domains.length} zones`),
					h('thead', {}, h('tr', {}, cols.map((c) => h('th', { scope: 'col' }, c)))),
					h('tbody', {}, domains.map(row))))
				: h('p', { class: 'panel' }, 'There is no domain yet.'));
	} catch (e) {
		fail(e);
	} finally {
		box.setAttribute('aria-busy', 'false');
	}
}

function setVisibility(v) {
	for (const r of document.querySelectorAll('input[name="visibility"]'))
		r.checked = r.value === v;
}

function startEdit(d) {
	editing = d.zone;
	fill($('#editor-title'), `Edit ${d.zone}`);
	const zone = $('#zone');
	zone.value = d.zone;
	zone.readOnly = true;
	$('#ns').value = d.ns.join('\n');
	$('#hostmaster').value = d.hostmaster;
	$('#ttl').value = String(d.ttl);
	setVisibility(d.visibility);
	$('#groups').value = d.groups.join('\n');
	fill($('#save-domain'), 'Save changes');
	$('#cancel-edit').hidden = false;
	$('#editor').scrollIntoView({ block: 'start' });
	$('#ns').focus();
}

function stopEdit() {
	editing = null;
	$('#domain-form').reset();
	$('#zone').readOnly = false;
	fill($('#editor-title'), 'Add a domain');
	fill($('#save-domain'), 'Add domain');
	$('#cancel-edit').hidden = true;
}

function invalid(id, text) {
	const f = $(`#${id}`);
	f.setAttribute('aria-invalid', 'true');
	fail(text);
	f.focus();
	return null;
}

/** The form as a request body, or null (with the error shown). */
function readForm() {
	for (const f of document.querySelectorAll('#domain-form [aria-invalid]'))
		f.removeAttribute('aria-invalid');
	const body = {};
	if (!editing) {
		body.zone = $('#zone').value.trim();
		if (!body.zone)
			return invalid('zone', 'Enter the zone\'s name.');
	}
	body.ns = names($('#ns').value);
	if (body.ns.length < 1 || body.ns.length > 8)
		return invalid('ns', 'Give 1 to 8 name servers, one per line.');
	body.hostmaster = $('#hostmaster').value.trim();
	if (!body.hostmaster)
		return invalid('hostmaster', 'Enter the hostmaster\'s e-mail address.');
	const ttl = Number($('#ttl').value);
	if (!Number.isInteger(ttl) || ttl < 1 || ttl > 86400)
		return invalid('ttl', 'The TTL is a whole number of seconds from 1 to 86400.');
	body.ttl = ttl;
	body.visibility = document.querySelector('input[name="visibility"]:checked').value;
	body.groups = [...new Set(words($('#groups').value))];
	if (body.visibility === 'private' && !body.groups.length)
		return invalid('groups', 'A private zone needs at least one group.');
	return body;
}

async function save(ev) {
	ev.preventDefault();
	const body = readForm();
	if (!body)
		return;
	await busy($('#save-domain'), async () => {
		let done;
		if (editing) {
			await api('PATCH', `/domains/${encodeURIComponent(editing)}`, body);
			done = `${editing} saved.`;
		} else {
			const d = await api('POST', '/domains', body);
			done = `${d.zone} added.`;
		}
		stopEdit();
		await load();
		say(done, 'ok');
	});
}

async function remove(d, button) {
	const yes = await confirmDialog({
		title: `Delete ${d.zone}?`,
		text: 'The zone disappears from the DNS. A zone that still has hosts cannot be deleted: delete them first.',
		confirm: 'Delete zone', danger: true,
	});
	if (!yes)
		return;
	await busy(button, async () => {
		await api('DELETE', `/domains/${encodeURIComponent(d.zone)}`);
		if (editing === d.zone)
			stopEdit();
		await load();
		say(`${d.zone} deleted.`, 'ok');
	});
}

async function main() {
	const s = await initPage();
	admin = s.user.admin;
	if (admin) {
		$('#editor').hidden = false;
		$('#domain-form').addEventListener('submit', save);
		$('#cancel-edit').addEventListener('click', stopEdit);
	} else {
		fill($('#domains-lead'), 'The domains you may add hosts to. Only administrators can change them.');
	}
	await load();
}

main().catch(() => {});
