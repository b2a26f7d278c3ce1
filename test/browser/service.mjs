// service.mjs -- the real ddns service (ddns-backend + pdns_server +
// ddns-updater) for the browser tests, started from node.
//
// It runs service_driver.py with /usr/bin/python3 (directly, no shell: the
// PID is the driver's), which uses test/system/ddnstest.py's Service: free
// loopback ports, a fresh temporary directory, every daemon stopped by its
// PID. Two phases, so that an OpenID provider can be started between them
// with the updater's port in its redirect URI and the provider's issuer in
// the updater's config:
//
//   const svc = await prepareService({ zones: ['dyn.example.org'] });
//   // svc.httpPort, svc.dnsPort, svc.dir, svc.conf are known; nothing runs
//   await svc.start('[portal]\npublic_url = ...\n');  // appended, then up
//   await svc.ctl(['user', 'add', 'alice', '--password-stdin'], 'pw\n');
//   await svc.stop();   // stdin closed: the driver stops every daemon
//
// Also the real clients: curl() and dig(), never through a proxy.
// Waiting is always for a line or an exit, with a deadline.

import { execFile, spawn } from 'node:child_process';
import { EventEmitter } from 'node:events';
import fs from 'node:fs';
import path from 'node:path';
import { cleanEnv, HERE, REPO } from './lib.mjs';

export const PYTHON = '/usr/bin/python3';

/** The meson build root: DDNS_BUILD_DIR (set by meson test), else ./build. */
export function buildDir() {
	return path.resolve(process.env.DDNS_BUILD_DIR || path.join(REPO, 'build'));
}

/** Why the service cannot run here, or null if it can. With DDNS_BUILD_DIR
 *  set the binaries are required (a missing one fails the test, it is not
 *  skipped). */
export function serviceMissing() {
	const need = [PYTHON, '/usr/sbin/pdns_server', '/usr/bin/dig', '/usr/bin/curl'];
	for (const p of need) {
		if (!fs.existsSync(p))
			return `${p} not found`;
	}
	if (process.env.DDNS_BUILD_DIR)
		return null;
	for (const b of ['updater/ddns-updater', 'updater/ddnsctl', 'backend/ddns-backend']) {
		if (!fs.existsSync(path.join(buildDir(), b)))
			return `${path.join(buildDir(), b)} not built (set DDNS_BUILD_DIR to a meson build root)`;
	}
	return null;
}

/** Run FILE with ARGS directly (no shell); resolves to { code, stdout,
 *  stderr } whatever the exit status. INPUT goes to its stdin. */
export function run(file, args, { input, timeout = 15000, env = cleanEnv() } = {}) {
	return new Promise((resolve, reject) => {
		const child = execFile(file, args, { env, timeout, maxBuffer: 1 << 20 },
			(err, stdout, stderr) => {
				if (err && typeof err.code !== 'number') {
					reject(new Error(`${file} ${args.join(' ')}: ${err.message}\n${stderr}`));
					return;
				}
				resolve({ code: err ? err.code : 0, stdout, stderr });
			});
		child.stdin.on('error', () => {}); // it exited without reading: its status says why
		child.stdin.end(input);
	});
}

/**
 * The real curl, no proxy, no URL globbing: GET URL. Resolves to { status,
 * body }. ("curl --noproxy '*' URL" as the README shows it, plus -sS and
 * the status written after the body.)
 */
export async function curl(url) {
	const r = await run('/usr/bin/curl', ['-sS', '-g', '--noproxy', '*',
		'--max-time', '5', '-w', '\n%{http_code}', '--', url]);
	if (r.code !== 0)
		throw new Error(`curl failed (exit ${r.code}): ${r.stderr}`);
	const i = r.stdout.lastIndexOf('\n');
	return { status: Number(r.stdout.slice(i + 1)), body: r.stdout.slice(0, i) };
}

/** dig @127.0.0.1 -p PORT NAME TYPE +short (one try, no recursion):
 *  the sorted answer lines. */
export async function dig(port, name, type = 'A') {
	const r = await run('/usr/bin/dig', ['@127.0.0.1', '-p', String(port),
		'+norecurse', '+tries=1', '+time=2', name, type, '+short']);
	if (r.code !== 0)
		throw new Error(`dig ${name} ${type}: exit ${r.code}\n${r.stdout}${r.stderr}`);
	return r.stdout.split('\n').filter(Boolean).sort();
}

/** Resolve with the match of the first line (of LINES: an emitter of
 *  'line' events, with the lines SEEN so far) matching RE; reject when
 *  PROC exits or TIMEOUT ms pass first. */
function waitLine(proc, lines, re, timeout, what, output) {
	return new Promise((resolve, reject) => {
		let done = false;
		const finish = (fn, v) => {
			if (done)
				return;
			done = true;
			clearTimeout(timer);
			lines.off('line', onLine);
			proc.off('exit', onExit);
			fn(v);
		};
		const onLine = (line) => {
			const m = re.exec(line);
			if (m)
				finish(resolve, m);
		};
		const onExit = (code, sig) => finish(reject,
			new Error(`service driver exited (${code ?? sig}) before ${what}\n${output()}`));
		const timer = setTimeout(() => finish(reject,
			new Error(`service driver: no "${what}" within ${timeout} ms\n${output()}`)), timeout);
		lines.on('line', onLine);
		proc.once('exit', onExit);
		for (const l of lines.seen)
			onLine(l);
	});
}

/**
 * Phase 1: start the driver, which picks the ports, writes the config and
 * makes ZONES (before pdns starts: it reads its zone list then). Resolves to
 * a handle: { httpPort, dnsPort, dir, conf, origin, start(confText),
 * ctl(args, input), fail(), stop(), output() }.
 */
export async function prepareService({ zones = ['dyn.example.org'], logLevel = 'info',
	timeout = 30000 } = {}) {
	const proc = spawn(PYTHON, [path.join(HERE, 'service_driver.py')], {
		cwd: HERE,
		env: cleanEnv({ DDNS_BUILD_DIR: buildDir() }),
		stdio: ['pipe', 'pipe', 'pipe'],
	});
	let out = '';
	let err = '';
	const lines = new EventEmitter();
	lines.seen = [];
	let partial = '';
	proc.stdout.on('data', (d) => {
		out += d;
		partial += d;
		const parts = partial.split('\n');
		partial = parts.pop();
		for (const l of parts) {
			lines.seen.push(l);
			lines.emit('line', l);
		}
	});
	proc.stderr.on('data', (d) => { err += d; });
	proc.stdin.on('error', () => {}); // the driver gone: its exit says why
	const output = () => `--- service_driver stdout\n${out}--- service_driver stderr\n${err}`;
	const send = (obj) => proc.stdin.write(`${JSON.stringify(obj)}\n`);
	const exited = new Promise((resolve) => proc.once('exit', (code, sig) => resolve(code ?? sig)));

	/** Stop the driver: close its stdin (it stops every daemon by PID),
	 *  SIGTERM after DEADLINE ms, SIGKILL after another. Resolves to its
	 *  exit status. */
	async function stop(deadline = 15000) {
		if (proc.exitCode === null && proc.signalCode === null) {
			proc.stdin.end();
			const t1 = setTimeout(() => proc.kill('SIGTERM'), deadline);
			const t2 = setTimeout(() => proc.kill('SIGKILL'), 2 * deadline);
			await exited;
			clearTimeout(t1);
			clearTimeout(t2);
		}
		return exited;
	}

	send({ zones, ipv6: false, log_level: logLevel });
	let m;
	try {
		m = await waitLine(proc, lines, /^service prepared (\{.*\})$/, timeout, 'prepared', output);
	} catch (e) {
		await stop(1000);
		throw e;
	}
	const info = JSON.parse(m[1]);
	return {
		pid: proc.pid,
		httpPort: info.http_port,
		dnsPort: info.dns_port,
		dir: info.dir,
		conf: info.conf,
		ddnsctl: info.ddnsctl,
		origin: `http://127.0.0.1:${info.http_port}`,
		output,
		stop,
		/** Phase 2: append CONF_TEXT to the config, start the daemons. */
		async start(confText = '') {
			send({ conf: confText });
			try {
				await waitLine(proc, lines, /^service ready /, timeout, 'ready', output);
			} catch (e) {
				await stop(1000);
				throw e;
			}
		},
		/** The tests failed: on stop the driver prints the logs and keeps
		 *  the directory. */
		fail() {
			if (proc.exitCode === null)
				send({ failed: true });
		},
		/** ddnsctl -c CONF ARGS (INPUT on stdin); rejects unless it exits 0. */
		async ctl(args, input) {
			const r = await run(info.ddnsctl, ['-c', info.conf, ...args], { input });
			if (r.code !== 0)
				throw new Error(`ddnsctl ${args.join(' ')}: exit ${r.code}\n${r.stdout}${r.stderr}`);
			return r.stdout;
		},
	};
}
