// index.js -- the overview: the user's hosts (admins: optionally everyone's).
import {
	$, addrEl, api, busy, cell, fail, fill, h, hostPage, initPage, stateBadges,
	timeEl, tlsBadge,
} from './portal.js';

function faults(host) {
	const total = host.client_faults + host.server_faults + host.auth_faults;
	const text = `${host.client_faults} / ${host.server_faults} / ${host.auth_faults}`;
	return h('span', { class: total ? '' : 'none', title: 'client / server / authentication faults' }, text);
}

function row(host, showOwner) {
	return h('tr', {},
		h('td', { class: 'title', 'data-label': 'Host' },
			h('a', { class: 'host-link', href: hostPage(host.fqdn) }, host.fqdn),
			host.comment ? h('div', { class: 'muted' }, host.comment) : null),
		cell('IPv4', { class: 'addr' }, addrEl(host.ipv4)),
		cell('IPv6', { class: 'addr' }, addrEl(host.ipv6)),
		cell('Last update', {}, timeEl(host.updated)),
		cell('TLS', {}, tlsBadge(host)),
		cell('Faults (c/s/a)', { class: 'num' }, faults(host)),
		cell('State', {}, stateBadges(host)),
		showOwner ? cell('Owner', {}, host.owner ?? h('span', { class: 'none' }, 'operator')) : null);
}

function table(hosts, showOwner) {
	const cols = ['Host', 'IPv4', 'IPv6', 'Last update', 'TLS',
		h('abbr', { title: 'client / server / authentication faults' }, 'Faults (c/s/a)'), 'State'];
	if (showOwner)
		cols.push('Owner');
	return h('div', { class: 'table-wrap' },
		h('table', { class: 'cards hosts', id: 'hosts-table' },
			h('caption', { class: 'visually-hidden' }, `${hosts.length} hosts`),
			h('thead', {}, h('tr', {}, cols.map((c) => h('th', { scope: 'col' }, c)))),
			h('tbody', {}, hosts.map((x) => row(x, showOwner)))));
}

async function load(all) {
	const box = $('#hosts');
	box.setAttribute('aria-busy', 'true');
	try {
		const r = await api('GET', all ? '/hosts?all=true' : '/hosts');
		const title = h('h2', { id: 'hosts-title', class: 'visually-hidden' }, 'Hosts');
		if (!r.hosts.length) {
			fill(box, title, h('div', { class: 'panel' },
				h('p', {}, all ? 'There are no hosts yet.' : 'You have no hosts yet.'),
				h('p', {}, h('a', { href: 'new.html' }, 'Add your first host'),
					': it takes a name and gives you a secret for your machine.')));
		} else {
			fill(box, title, table(r.hosts, all));
		}
	} catch (e) {
		fail(e);
	} finally {
		box.setAttribute('aria-busy', 'false');
	}
}

async function main() {
	const s = await initPage();
	const all = $('#show-all');
	if (s.user.admin && all) {
		all.addEventListener('change', () => busy(all, () => load(all.checked)));
	}
	await load(false);
}

main().catch(() => {});
