#!/usr/bin/env node
// validate-schemas.mjs -- check schema/api/ against its examples.
//
//   node validate-schemas.mjs          # prints "N passed, N failed"
//
// Every schema/api/examples/NAME[.variant].json must be valid against
// schema/api/NAME.json; every schema/api/examples/invalid/NAME.variant.json
// ({"//": "why", "value": ...}) must be rejected. Every schema but
// common.json needs at least one valid example, and each schema is audited
// for strictness: objects closed (additionalProperties or
// unevaluatedProperties false), strings bounded (maxLength, pattern, format
// or enum). Also used as a module by the other tests (loadSchemas).

import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import Ajv2020 from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';

const here = path.dirname(fileURLToPath(import.meta.url));
export const SCHEMA_DIR = path.resolve(here, '../../schema/api');
export const EXAMPLES_DIR = path.join(SCHEMA_DIR, 'examples');

function readJson(file) {
	return JSON.parse(fs.readFileSync(file, 'utf8'));
}

/** All schemas of schema/api/, compiled: { ajv, names, validate(name, value) }.
 *  validate returns null when VALUE is valid, else a text of the errors. */
export function loadSchemas() {
	const ajv = new Ajv2020({
		strict: true, strictRequired: false, allErrors: true,
	});
	addFormats(ajv);
	const names = fs.readdirSync(SCHEMA_DIR)
		.filter((f) => f.endsWith('.json'))
		.map((f) => f.slice(0, -5))
		.sort();
	const raw = {};
	for (const n of names) {
		raw[n] = readJson(path.join(SCHEMA_DIR, n + '.json'));
		ajv.addSchema(raw[n]);
	}
	function validate(name, value) {
		const v = ajv.getSchema(name + '.json');
		if (!v)
			throw new Error('no schema ' + name + '.json');
		if (v(value))
			return null;
		return ajv.errorsText(v.errors, { dataVar: name });
	}
	return { ajv, names, raw, validate };
}

/** Strictness audit of one schema: a list of complaints. */
export function audit(name, schema) {
	const out = [];
	if (schema.$schema !== 'https://json-schema.org/draft/2020-12/schema')
		out.push(`${name}: $schema is not draft 2020-12`);
	if (schema.$id !== name + '.json')
		out.push(`${name}: $id is not ${name}.json`);
	(function walk(node, where) {
		if (Array.isArray(node)) {
			node.forEach((n, i) => walk(n, `${where}/${i}`));
			return;
		}
		if (!node || typeof node !== 'object')
			return;
		if (node.type === 'object' && node.additionalProperties !== false &&
		    node.unevaluatedProperties !== false &&
		    !String(node.$comment).startsWith('unclosed on purpose'))
			out.push(`${name}${where}: object not closed`);
		if (node.type === 'string' && node.maxLength === undefined &&
		    node.pattern === undefined && node.format === undefined)
			out.push(`${name}${where}: string without maxLength, pattern or format`);
		if (node.type === 'array' && node.maxItems === undefined &&
		    !where.endsWith('/hosts') && !where.endsWith('/domains') &&
		    !where.endsWith('/public') && !where.endsWith('/private'))
			out.push(`${name}${where}: array without maxItems`);
		for (const [k, v] of Object.entries(node))
			if (k !== 'examples' && k !== 'enum' && k !== 'const')
				walk(v, `${where}/${k}`);
	})(schema, '');
	return out;
}

/** Run every check; returns { passed, failed, messages }. */
export function checkAll() {
	const { names, raw, validate } = loadSchemas();
	let passed = 0, failed = 0;
	const messages = [];
	const ok = (cond, msg) => {
		if (cond) {
			passed++;
		} else {
			failed++;
			messages.push('FAIL ' + msg);
		}
	};
	const schemaOf = (file) => file.split('.')[0];
	const covered = new Set();
	for (const n of names) {
		const problems = audit(n, raw[n]);
		ok(problems.length === 0, problems.join('\n     '));
	}
	for (const f of fs.readdirSync(EXAMPLES_DIR).filter((f) => f.endsWith('.json')).sort()) {
		const n = schemaOf(f);
		if (!names.includes(n)) {
			ok(false, `examples/${f}: no schema ${n}.json`);
			continue;
		}
		covered.add(n);
		const err = validate(n, readJson(path.join(EXAMPLES_DIR, f)));
		ok(err === null, `examples/${f} should be valid: ${err}`);
	}
	const invDir = path.join(EXAMPLES_DIR, 'invalid');
	for (const f of fs.readdirSync(invDir).filter((f) => f.endsWith('.json')).sort()) {
		const n = schemaOf(f);
		const doc = readJson(path.join(invDir, f));
		if (!names.includes(n) || !('value' in doc)) {
			ok(false, `examples/invalid/${f}: no schema ${n}.json or no "value"`);
			continue;
		}
		ok(validate(n, doc.value) !== null,
		   `examples/invalid/${f} should be rejected (${doc['//']})`);
	}
	for (const n of names)
		if (n !== 'common')
			ok(covered.has(n), `schema ${n}.json has no valid example`);
	return { passed, failed, messages };
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
	const { passed, failed, messages } = checkAll();
	for (const m of messages)
		console.log(m);
	console.log(`${passed} passed, ${failed} failed`);
	process.exit(failed ? 1 : 0);
}
