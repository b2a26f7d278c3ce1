// schemas.test.mjs -- node --test wrapper of validate-schemas.mjs: the API
// schemas in schema/api/ accept their examples, reject the invalid ones and
// pass the strictness audit.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { checkAll } from './validate-schemas.mjs';

test('schema/api: examples valid, invalid examples rejected, schemas strict', () => {
	const { passed, failed, messages } = checkAll();
	assert.equal(failed, 0, messages.join('\n'));
	assert.ok(passed > 50, `only ${passed} checks ran`);
});
