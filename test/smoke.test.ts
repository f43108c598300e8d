import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SpindleError } from 'spindle';

test('package self-reference resolves', () => {
  assert.equal(new SpindleError('CONFIG_FILE', 'x').code, 'CONFIG_FILE');
});
