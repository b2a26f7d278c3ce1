// portal-mock.test.mjs -- the static portal (updater/portal/) in headless
// chromium against the mock API of mock-api.mjs, which serves the portal as
// ddns-updater will (strict Content-Security-Policy included) and checks
// every request and reply against schema/api/. What it proves: every page
// works through the contract (login, overview, add host + secret once +
// snippets + copy, host page actions, domains admin, 401 -> login), passes
// an accessibility sanity check (labels, one h1, named buttons and links,
// landmarks, no horizontal scrolling at 390 px), loads nothing from outside
// and logs no error.
//
//   node --test portal-mock.test.mjs
//   DDNS_SCREENSHOTS=dir node --test portal-mock.test.mjs   # keep the PNGs

import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { a11yProblems } from './a11y.mjs';
import { chromiumMissing, launchBrowser, tempDir } from './lib.mjs';
import { startMockPortal } from './mock-api.mjs';

const PHONE = { width: 390, height: 844 };
const DESKTOP = { width: 1280, height: 900 };

const skip = chromiumMissing();

describe('portal against the mock API', { skip: skip ?? false }, () => {
	let mock;
	let browser;
	let page;
	let shots;
	const consoleErrors = [];

	/** Check PAGE at both widths, with a screenshot of each as NAME-W.png. */
	async function checkPage(name) {
		for (const vp of [PHONE, DESKTOP]) {
			await page.setViewportSize(vp);
			const problems = await page.evaluate(a11yProblems);
			assert.deepEqual(problems, [], `${name} at ${vp.width} px`);
			await page.screenshot({ path: path.join(shots.dir, `${name}-${vp.width}.png`), fullPage: true });
		}
		await page.setViewportSize(DESKTOP);
	}

	async function login(user, password) {
		await page.goto(`${mock.origin}/login.html`);
		await page.getByLabel('User name').fill(user);
		await page.getByLabel('Password').fill(password);
		await page.getByRole('button', { name: 'Log in', exact: true }).click();
		await page.waitForURL((u) => !u.pathname.endsWith('/login.html'));
	}

	const alertText = () => page.locator('#alert').textContent();
	const hostOf = (fqdn) => mock.state.hosts.find((x) => x.fqdn === fqdn);

	before(async () => {
		mock = await startMockPortal();
		shots = process.env.DDNS_SCREENSHOTS
			? { dir: path.resolve(process.env.DDNS_SCREENSHOTS), cleanup() {} }
			: tempDir('ddns-shots-');
		fs.mkdirSync(shots.dir, { recursive: true });
		browser = await launchBrowser({
			viewport: DESKTOP,
			permissions: ['clipboard-read', 'clipboard-write'],
		});
		page = await browser.newPage();
		page.setDefaultTimeout(10000);
		page.on('console', (m) => {
			// 4xx replies the tests provoke are logged by chromium as
			// "Failed to load resource"; anything else (CSP refusals,
			// script errors) is a failure.
			if (m.type() === 'error' && !/^Failed to load resource/.test(m.text()))
				consoleErrors.push(m.text());
		});
		page.on('pageerror', (e) => consoleErrors.push(`uncaught: ${e.message}`));
	});

	after(async () => {
		await browser?.close();
		await mock?.stop();
		shots?.cleanup();
	});

	test('without a session every page leads to the login page', async () => {
		await page.goto(`${mock.origin}/host.html?fqdn=home.dyn.example.org`);
		await page.waitForURL('**/login.html?next=*');
		const next = new URL(page.url()).searchParams.get('next');
		assert.equal(next, '/host.html?fqdn=home.dyn.example.org');
		await page.goto(`${mock.origin}/`);
		await page.waitForURL('**/login.html?next=%2F');
	});

	test('the login page: a button per OIDC provider and the local form', async () => {
		const egi = page.getByRole('link', { name: 'Log in with EGI Check-in' });
		assert.equal(await egi.getAttribute('href'), '/oidc/login/egi?next=%2F');
		await page.getByLabel('User name').waitFor();
		await checkPage('login');
		// keyboard: the skip link comes first, and focus is visible
		await page.keyboard.press('Tab');
		assert.equal(await page.evaluate(() => document.activeElement.className), 'skip-link');
		await page.keyboard.press('Tab');
		const outline = await page.evaluate(() => getComputedStyle(document.activeElement).outlineStyle);
		assert.equal(outline, 'solid');
	});

	test('a wrong password is refused with a message', async () => {
		await page.getByLabel('User name').fill('alice');
		await page.getByLabel('Password').fill('wrong');
		await page.getByRole('button', { name: 'Log in', exact: true }).click();
		await page.locator('#alert .msg-error').waitFor();
		assert.equal(await alertText(), 'wrong user name or password');
		assert.equal(await page.getByLabel('Password').getAttribute('aria-invalid'), 'true');
		assert.ok(page.url().includes('/login.html'));
	});

	test('an OIDC error code is explained on the login page', async () => {
		await page.goto(`${mock.origin}/login.html?error=oidc_state`);
		await page.locator('#alert .msg-error').waitFor();
		assert.match(await alertText(), /took too long/);
	});

	test('alice logs in and sees her hosts on the overview', async () => {
		await login('alice', 'alice-pw');
		assert.equal(new URL(page.url()).pathname, '/index.html');
		await page.locator('#hosts-table').waitFor();
		const rows = page.locator('#hosts-table tbody tr');
		assert.equal(await rows.count(), 3);
		const home = rows.filter({ hasText: 'home.dyn.example.org' });
		assert.match(await home.textContent(), /198\.51\.100\.23/);
		assert.match(await home.textContent(), /abuse/);
		assert.match(await home.textContent(), /no TLS/);
		assert.match(await home.textContent(), /121 \/ 0 \/ 3/);
		const vm = rows.filter({ hasText: 'vm-with-a-rather-long-name-0042' });
		assert.match(await vm.textContent(), /blocked/);
		assert.match(await vm.textContent(), /2001:db8:4242:1:a00:27ff:fe4e:66a1/);
		const link = page.getByRole('link', { name: 'my-server.dyn.example.org' });
		assert.equal(await link.getAttribute('href'), 'host.html?fqdn=my-server.dyn.example.org');
		assert.equal(await page.getByRole('link', { name: 'Domains' }).count(), 0, 'admin link shown to a user');
		assert.equal(await page.locator('#who').textContent(), 'Alice Example');
		await checkPage('overview');
	});

	test('add a host: the secret once, the snippets, copy', async () => {
		await page.getByRole('link', { name: 'Add host' }).first().click();
		await page.locator('#new-host:not([hidden])').waitFor();
		const options = await page.locator('#domain option').allTextContents();
		assert.deepEqual(options, ['dyn.example.org', 'lab.example.org (private)'], 'admin-only zone offered');
		await checkPage('new');
		await page.getByLabel('Name', { exact: true }).fill('web 01');
		await page.getByRole('button', { name: 'Add host' }).click();
		assert.match(await alertText(), /letters, digits and hyphens/);
		await page.getByLabel('Name', { exact: true }).fill('web01');
		await page.getByLabel('Domain').selectOption('lab.example.org');
		assert.equal(await page.locator('#preview').textContent(), 'web01.lab.example.org');
		await page.getByLabel('Comment').fill('first <b>web</b> server');
		await page.getByRole('button', { name: 'Add host' }).click();
		await page.locator('#secret').waitFor();
		const secret = await page.locator('#secret').textContent();
		assert.match(secret, /^[A-Za-z0-9]{24}$/);
		assert.equal(secret, mock.state.secrets.get('web01.lab.example.org'));
		assert.equal(hostOf('web01.lab.example.org').comment, 'first <b>web</b> server');
		const url = `http://web01.lab.example.org:${secret}@127.0.0.1:${mock.port}/nic/update`;
		assert.equal(await page.locator('#snippet-curl').textContent(), `curl "${url}"`);
		assert.equal(await page.locator('#snippet-cloud-init').textContent(),
			`#cloud-config\nruncmd:\n  - [ curl, -fsS, --retry, "5", "${url}" ]`);
		const ddclient = await page.locator('#snippet-ddclient').textContent();
		assert.match(ddclient, /^ssl=no$/m);
		assert.match(ddclient, new RegExp(`^password='${secret}'$`, 'm'));
		assert.match(ddclient, new RegExp(`^server=127\\.0\\.0\\.1:${mock.port}$`, 'm'));
		const inadyn = await page.locator('#snippet-inadyn').textContent();
		assert.match(inadyn, new RegExp(`^ {4}password {7}= ${secret}$`, 'm'));
		assert.match(inadyn, /^ {4}hostname {7}= web01\.lab\.example\.org$/m);
		await page.getByRole('button', { name: 'Copy the secret' }).click();
		await page.getByText('Copied the secret to the clipboard.').waitFor();
		assert.equal(await page.evaluate(() => navigator.clipboard.readText()), secret);
		await page.getByRole('button', { name: 'Copy the curl configuration' }).click();
		await page.getByText('Copied the curl configuration to the clipboard.').waitFor();
		assert.equal(await page.evaluate(() => navigator.clipboard.readText()), `curl "${url}"`);
		await checkPage('new-secret');
		await page.reload();
		await page.locator('#new-host:not([hidden])').waitFor();
		assert.equal(await page.locator('#secret').count(), 0, 'the secret is shown again');
	});

	test('host page: settings, addresses, abuse, new secret, delete', async () => {
		const fqdn = 'home.dyn.example.org';
		await page.goto(`${mock.origin}/host.html?fqdn=${fqdn}`);
		await page.locator('#settings').waitFor();
		assert.equal(await page.locator('h1').textContent(), fqdn);
		await checkPage('host');

		await page.getByLabel('Comment').fill('router in the hall');
		await page.getByLabel(/^Wildcard/).check();
		await page.getByRole('button', { name: 'Save' }).click();
		await page.locator('#status .msg-ok').waitFor();
		assert.equal(hostOf(fqdn).comment, 'router in the hall');
		assert.equal(hostOf(fqdn).wildcard, true);

		// a bad IPv4 address is caught in the page, a bad IPv6 one by the server
		await page.getByLabel('IPv4 address').fill('300.1.1.1');
		await page.getByRole('button', { name: 'Set IPv4' }).click();
		await page.locator('#alert .msg-error').waitFor();
		assert.match(await alertText(), /^300\.1\.1\.1 is not an IPv4 address/);
		assert.equal(await page.getByLabel('IPv4 address').getAttribute('aria-invalid'), 'true');
		assert.equal(hostOf(fqdn).ipv4, '198.51.100.23');
		await page.getByLabel('IPv6 address').fill('2001:db8::1::2');
		await page.getByRole('button', { name: 'Set IPv6' }).click();
		await page.getByText('ipv6: must match format "ipv6"').waitFor();
		assert.equal(hostOf(fqdn).ipv6, null);

		await page.getByLabel('IPv6 address').fill('2001:DB8::77');
		await page.getByRole('button', { name: 'Set IPv6' }).click();
		await page.getByText('IPv6 address set to 2001:DB8::77.').waitFor();
		assert.equal(hostOf(fqdn).ipv6, '2001:db8::77');
		await page.getByRole('button', { name: 'Remove IPv4' }).click();
		await page.getByText('IPv4 address removed.').waitFor();
		assert.equal(hostOf(fqdn).ipv4, null);

		await page.getByRole('button', { name: 'Clear the abuse flag' }).click();
		await page.getByText(/abuse flag is cleared/).waitFor();
		assert.equal(hostOf(fqdn).abuse, false);
		assert.equal(await page.getByRole('button', { name: 'Clear the abuse flag' }).count(), 0);

		// "Show configuration": Cancel changes nothing, then a new secret
		mock.state.secrets.set(fqdn, 'OldOldOldOldOldOldOld123');
		await page.getByRole('button', { name: 'Show configuration' }).click();
		const dlg = page.getByRole('dialog', { name: 'Make a new secret?' });
		await dlg.waitFor();
		assert.equal(await page.evaluate(() => document.activeElement.textContent), 'Cancel');
		await dlg.getByRole('button', { name: 'Cancel' }).click();
		assert.equal(mock.state.secrets.get(fqdn), 'OldOldOldOldOldOldOld123');
		await page.getByRole('button', { name: 'Show configuration' }).click();
		await dlg.getByRole('button', { name: 'Make a new secret' }).click();
		await page.locator('#secret').waitFor();
		const secret = await page.locator('#secret').textContent();
		assert.equal(secret, mock.state.secrets.get(fqdn));
		assert.notEqual(secret, 'OldOldOldOldOldOldOld123');
		assert.match(await page.locator('#secret-panel').textContent(), /The old secret no longer works/);
		assert.match(await page.locator('#snippet-curl').textContent(), new RegExp(secret));
		await checkPage('host-secret');

		// delete: Escape cancels, then confirmed
		await page.getByRole('button', { name: 'Delete host' }).click();
		await page.getByRole('dialog', { name: `Delete ${fqdn}?` }).waitFor();
		await page.keyboard.press('Escape');
		assert.ok(hostOf(fqdn));
		await page.getByRole('button', { name: 'Delete host' }).click();
		await page.getByRole('dialog').getByRole('button', { name: 'Delete host' }).click();
		await page.waitForURL('**/index.html');
		await page.getByText(`Host ${fqdn} deleted.`).waitFor();
		assert.equal(hostOf(fqdn), undefined);
		await page.locator('#hosts-table').waitFor();
		assert.equal(await page.locator('#hosts-table tbody tr').count(), 3);
	});

	test('the snippets use [portal] update_url when the server gives one', async () => {
		mock.state.config = { ...mock.state.config, update_url: 'https://ddns.example.org' };
		try {
			await page.goto(`${mock.origin}/host.html?fqdn=my-server.dyn.example.org`);
			await page.getByRole('button', { name: 'Show configuration' }).click();
			await page.getByRole('dialog').getByRole('button', { name: 'Make a new secret' }).click();
			await page.locator('#secret').waitFor();
			const secret = await page.locator('#secret').textContent();
			assert.equal(await page.locator('#snippet-curl').textContent(),
				`curl "https://my-server.dyn.example.org:${secret}@ddns.example.org/nic/update"`);
			const ddclient = await page.locator('#snippet-ddclient').textContent();
			assert.match(ddclient, /^ssl=yes$/m);
			assert.match(ddclient, /^use=web, web=https:\/\/ddns\.example\.org\/myip$/m);
			assert.match(ddclient, /^server=ddns\.example\.org$/m);
			const inadyn = await page.locator('#snippet-inadyn').textContent();
			assert.match(inadyn, /^ {4}ssl {12}= true$/m);
			assert.match(inadyn, /^ {4}checkip-ssl {4}= true$/m);
		} finally {
			mock.state.config = { ...mock.state.config, update_url: null };
		}
	});

	test('another user\'s host is not shown', async () => {
		await page.goto(`${mock.origin}/host.html?fqdn=gw.ops.example.org`);
		await page.locator('#alert .msg-error').waitFor();
		assert.equal(await alertText(), 'There is no host gw.ops.example.org of yours.');
		assert.equal(await page.locator('#settings').count(), 0);
	});

	test('non-admins see the domains they may use, read-only', async () => {
		await page.goto(`${mock.origin}/domains.html`);
		await page.locator('#domains-table').waitFor();
		assert.equal(await page.locator('#domains-table tbody tr').count(), 2);
		assert.ok(await page.locator('#editor').isHidden());
		assert.equal(await page.getByRole('button', { name: /^Delete/ }).count(), 0);
	});

	test('log out, then the admin manages domains and sees every host', async () => {
		await page.getByRole('button', { name: 'Log out' }).click();
		await page.waitForURL('**/login.html?logged_out=1');
		await page.getByText('You are logged out.').waitFor();
		assert.equal(mock.state.sessions.size, 0);
		await login('admin', 'admin-pw');
		await page.getByRole('link', { name: 'Domains' }).click();
		await page.locator('#domains-table').waitFor();
		assert.equal(await page.locator('#domains-table tbody tr').count(), 3);

		await page.getByLabel('Zone', { exact: true }).fill('new.example.org');
		await page.getByLabel('Name servers').fill('ns1.example.org\nns2.example.org');
		await page.getByLabel('Hostmaster').fill('hostmaster@example.org');
		await page.getByLabel('Members of the groups below (private)').check();
		await page.getByRole('button', { name: 'Add domain' }).click();
		assert.equal(await alertText(), 'A private zone needs at least one group.');
		await page.getByLabel('Groups', { exact: true }).fill('urn:example:group:a\nurn:example:group:b');
		await page.getByRole('button', { name: 'Add domain' }).click();
		await page.getByText('new.example.org added.').waitFor();
		await page.locator('#domains-table tbody tr').filter({ hasText: 'new.example.org' }).waitFor();
		const d = mock.state.domains.find((x) => x.zone === 'new.example.org');
		assert.deepEqual(d.groups, ['urn:example:group:a', 'urn:example:group:b']);
		assert.equal(d.visibility, 'private');
		assert.equal(await page.locator('#domains-table tbody tr').count(), 4);

		await page.getByRole('button', { name: 'Edit new.example.org' }).click();
		assert.equal(await page.getByLabel('Zone', { exact: true }).getAttribute('readonly'), '');
		await page.getByLabel('TTL of the host records (seconds)').fill('120');
		await page.getByRole('button', { name: 'Save changes' }).click();
		await page.getByText('new.example.org saved.').waitFor();
		assert.equal(d.ttl, 120);
		await checkPage('domains');

		await page.getByRole('button', { name: 'Delete ops.example.org' }).click();
		await page.getByRole('dialog').getByRole('button', { name: 'Delete zone' }).click();
		await page.locator('#alert .msg-error').waitFor();
		assert.match(await alertText(), /still has hosts/);
		await page.getByRole('button', { name: 'Delete new.example.org' }).click();
		await page.getByRole('dialog').getByRole('button', { name: 'Delete zone' }).click();
		await page.getByText('new.example.org deleted.').waitFor();
		assert.equal(mock.state.domains.some((x) => x.zone === 'new.example.org'), false);

		await page.getByRole('link', { name: 'Hosts' }).click();
		await page.getByText('You have no hosts yet.').waitFor();
		await page.getByLabel('Show every user\'s hosts').check();
		await page.locator('#hosts-table').waitFor();
		const gw = page.locator('#hosts-table tbody tr').filter({ hasText: 'gw.ops.example.org' });
		assert.match(await gw.textContent(), /operator/);
		await checkPage('overview-admin');
	});

	test('a session that ends mid-way leads back to the login page', async () => {
		await browser.context.clearCookies();
		// the change reloads the list: 401, so off to the login page
		await page.getByLabel('Show every user\'s hosts').click({ noWaitAfter: true });
		await page.waitForURL('**/login.html?next=*');
	});

	test('the accessibility check itself finds what it looks for', async () => {
		const p = await browser.newPage();
		await p.setViewportSize(PHONE);
		await p.setContent('<html><head></head><body><h1>a</h1><h1>b</h1><h3>c</h3>' +
			'<input id="x"><button></button><a href="#"></a><img src="data:,">' +
			'<p id="x" aria-describedby="nope">dup</p>' +
			'<div style="width:2000px">wide</div></body></html>');
		const problems = (await p.evaluate(a11yProblems)).join('\n');
		await p.close();
		for (const want of ['no label: input#x', 'no accessible name: <button>',
			'no accessible name: <a href="#">', '2 h1 elements', 'heading level skipped: H3',
			'not exactly one <main>', 'no <header>', 'no lang', 'no <title>', 'duplicate id x',
			'reference to missing id nope', 'img without alt', 'no live regions',
			'horizontal scrolling'])
			assert.ok(problems.includes(want), `missed "${want}" in:\n${problems}`);
	});

	test('nothing external was loaded, no console error, the contract held', () => {
		assert.deepEqual(browser.blocked, []);
		assert.deepEqual(consoleErrors, []);
		assert.deepEqual(mock.violations, []);
		assert.deepEqual(mock.rejected, ['host-update-request: ipv6: must match format "ipv6"']);
	});
});
