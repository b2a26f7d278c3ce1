// lib.mjs -- shared helpers of the browser tests (node --test).
//
// - launchBrowser(): Debian's chromium through playwright-core, exactly as
//   /work/shared/reference/browser-oidc.md says: launchPersistentContext on
//   a fresh temporary profile, the fixed flag list, and every request to a
//   host other than 127.0.0.1 aborted (and recorded in `blocked`).
// - startProcess(): a child started directly (never through a shell, so the
//   PID is the program's), its ready line awaited with a deadline, stopped by
//   its PID (SIGTERM, then SIGKILL after a deadline).
// - startOidcProvider(): oidc-provider.mjs on a free loopback port.
// - cleanEnv(): the environment without proxies.
// Nothing here sleeps to synchronise: waiting is always for an event or a
// line, with a deadline.

import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

export const HERE = path.dirname(fileURLToPath(import.meta.url));
export const REPO = path.resolve(HERE, '../..');
export const CHROMIUM = process.env.DDNS_CHROMIUM || '/usr/bin/chromium';

export const CHROMIUM_ARGS = [
	'--headless', '--no-sandbox', '--disable-gpu', '--disable-quic',
	'--no-first-run', '--disable-background-networking',
	'--disable-component-update', '--disable-sync',
];

/** The environment for children: no *_proxy variables, C locale. */
export function cleanEnv(extra = {}) {
	const env = {};
	for (const [k, v] of Object.entries(process.env))
		if (!k.toLowerCase().endsWith('_proxy'))
			env[k] = v;
	env.LC_ALL = 'C';
	return { ...env, ...extra };
}

/** A fresh temporary directory; removed by the returned cleanup(). */
export function tempDir(prefix = 'ddns-browser-') {
	const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
	return { dir, cleanup: () => fs.rmSync(dir, { recursive: true, force: true }) };
}

/** Why chromium cannot run here, or null if it can. */
export function chromiumMissing() {
	try {
		fs.accessSync(CHROMIUM, fs.constants.X_OK);
		return null;
	} catch {
		return `${CHROMIUM} not found (apt-get install -y chromium)`;
	}
}

/**
 * Launch headless chromium with a fresh profile. Returns { context, blocked,
 * newPage(), close() }: BLOCKED lists the URLs of every non-loopback request
 * the pages tried (all aborted). OPTS are merged into the context options
 * (viewport, locale...).
 */
export async function launchBrowser(opts = {}) {
	const profile = tempDir('ddns-chromium-');
	const context = await chromium.launchPersistentContext(profile.dir, {
		executablePath: CHROMIUM,
		headless: true,
		args: CHROMIUM_ARGS,
		...opts,
	});
	const blocked = [];
	await context.route((url) => url.hostname !== '127.0.0.1', (route) => {
		blocked.push(route.request().url());
		return route.abort();
	});
	return {
		context,
		blocked,
		newPage: () => context.newPage(),
		async close() {
			await context.close();
			profile.cleanup();
		},
	};
}

/**
 * Start ARGV[0] with ARGV[1..] directly and wait (up to TIMEOUT ms) for a
 * stdout line matching READY (a RegExp). Returns { proc, pid, match, output(),
 * stop() }. Rejects, with the child's output, if it exits or the deadline
 * passes first.
 */
export function startProcess(argv, { ready, env = cleanEnv(), cwd = HERE,
	timeout = 15000, name = path.basename(argv[1] || argv[0]) } = {}) {
	const proc = spawn(argv[0], argv.slice(1), {
		cwd, env, stdio: ['ignore', 'pipe', 'pipe'],
	});
	let out = '';
	let err = '';
	proc.stderr.on('data', (d) => { err += d; });
	const handle = {
		proc,
		pid: proc.pid,
		match: null,
		output: () => `--- ${name} stdout\n${out}--- ${name} stderr\n${err}`,
		stop: (deadline = 5000) => stopProcess(proc, deadline),
	};
	return new Promise((resolve, reject) => {
		const timer = setTimeout(() => {
			stopProcess(proc, 1000);
			reject(new Error(`${name}: no ready line after ${timeout} ms\n${handle.output()}`));
		}, timeout);
		const onExit = (code, sig) => {
			clearTimeout(timer);
			reject(new Error(`${name} exited (${code ?? sig}) before it was ready\n${handle.output()}`));
		};
		proc.once('exit', onExit);
		proc.stdout.on('data', (d) => {
			out += d;
			if (handle.match)
				return;
			for (const line of out.split('\n').slice(0, -1)) { // whole lines only
				const m = ready.exec(line);
				if (m) {
					handle.match = m;
					clearTimeout(timer);
					proc.off('exit', onExit);
					resolve(handle);
					return;
				}
			}
		});
	});
}

/** SIGTERM PROC (by its PID), SIGKILL after DEADLINE ms; resolves on exit. */
export function stopProcess(proc, deadline = 5000) {
	if (proc.exitCode !== null || proc.signalCode !== null)
		return Promise.resolve();
	return new Promise((resolve) => {
		const timer = setTimeout(() => proc.kill('SIGKILL'), deadline);
		proc.once('exit', () => {
			clearTimeout(timer);
			resolve();
		});
		proc.kill('SIGTERM');
	});
}

/**
 * Start oidc-provider.mjs on a free loopback port. USERS: an array (written
 * to a temporary file) or a file name. Returns { issuer, port, clientId,
 * clientSecret, setIdTokenMode(mode), stop(), output() }.
 */
export async function startOidcProvider({ users, clientId = 'ddns',
	clientSecret, redirectUris, idTokenMode = 'valid', alg = 'RS256',
	authMethod = 'client_secret_basic' }) {
	const tmp = tempDir('ddns-oidc-');
	let usersFile = users;
	if (typeof users !== 'string') {
		usersFile = path.join(tmp.dir, 'users.json');
		fs.writeFileSync(usersFile, JSON.stringify(users), { mode: 0o600 });
	}
	const argv = [process.execPath, path.join(HERE, 'oidc-provider.mjs'),
		'--port', '0', '--users', usersFile, '--client-id', clientId,
		'--id-token', idTokenMode, '--alg', alg, '--auth-method', authMethod];
	for (const u of redirectUris)
		argv.push('--redirect-uri', u);
	// the client secret goes through the environment, not the command line
	const h = await startProcess(argv, {
		ready: /^oidc-provider ready (\{.*\})$/,
		env: cleanEnv({ OIDC_CLIENT_SECRET: clientSecret }),
		name: 'oidc-provider',
	});
	const info = JSON.parse(h.match[1]);
	return {
		...info,
		clientId,
		clientSecret,
		output: h.output,
		async setIdTokenMode(mode) {
			const r = await fetch(`${info.issuer}/test-control/id-token-mode?mode=${mode}`,
				{ method: 'POST' });
			if (r.status !== 200)
				throw new Error(`id-token-mode ${mode}: ${r.status} ${await r.text()}`);
		},
		async stop() {
			await h.stop();
			tmp.cleanup();
		},
	};
}

/** Listen on 127.0.0.1, a free port; resolves to the port. */
export function listenLoopback(server) {
	return new Promise((resolve, reject) => {
		server.once('error', reject);
		server.listen(0, '127.0.0.1', () => resolve(server.address().port));
	});
}

/** Close SERVER and every connection it still has. */
export function closeServer(server) {
	return new Promise((resolve) => {
		server.close(() => resolve());
		server.closeAllConnections();
	});
}
