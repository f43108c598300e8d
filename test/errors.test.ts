// The error table (src/errors.ts), the README list generated from it, the serializer for errors
// crossing threads (src/protocol/errors.ts), and the codes of the argument errors of the app API.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { MessageChannel, receiveMessageOnPort } from 'node:worker_threads';
import {
  ERRORS, ERROR_CODES, SpindleError, SpindleRangeError, SpindleTypeError,
  errorMessage, errorsSection, httpStatus, isErrorCode, renderErrorsMarkdown, updateErrorsSection, type ErrorCode,
} from '../src/errors.js';
import { errorDetail, fromWire, toWire } from '../src/protocol/errors.js';
import { timer, msTimer, cron } from '../src/api/timer.js';
import { parseAddress } from '../src/config/address.js';
import { parseCron2Line, parseCronLine, parseFarm, parseSchedule, parseTimerLine } from '../src/config/cron.js';
import { resolveOwner } from '../src/config/owner.js';
import { parseCache2 } from '../src/config/cache2.js';
import { setHarakiri } from '../src/api/context.js';
import { mulefunc, muleMsg } from '../src/api/mule.js';
import { offload } from '../src/api/offload.js';
import { registerSignal } from '../src/api/signal.js';

const root = fileURLToPath(new URL('../../', import.meta.url));

test('README lists every error code of the table, with its meaning and HTTP status', () => {
  const readme = readFileSync(`${root}README.md`, 'utf8');
  const section = errorsSection(readme);
  assert.notEqual(section, undefined, 'README.md lacks <!-- errors:start --> / <!-- errors:end -->');
  assert.ok(section === renderErrorsMarkdown(), 'README.md error codes are stale: run `npx tsc -p . && node scripts/gen-readme.mjs`');
  assert.equal(updateErrorsSection(readme), readme);
  for (const [code, spec] of Object.entries(ERRORS)) {
    const row = section!.split('\n').find((l) => l.startsWith(`| \`${code}\` |`));
    assert.ok(row, `README lacks ${code}`);
    assert.ok(row.includes(spec.description), code);
    if ('status' in spec) assert.ok(row.endsWith(`| ${spec.status} |`), `${code}: status`);
  }
});

test('the table: UPPER_SNAKE codes, one-line descriptions, statuses in 400..599, templates that fill', () => {
  for (const [code, spec] of Object.entries(ERRORS) as [ErrorCode, (typeof ERRORS)[ErrorCode]][]) {
    assert.match(code, /^[A-Z][A-Z0-9_]*$/);
    assert.ok(spec.description.length > 0 && !spec.description.includes('\n'), code);
    assert.equal(ERROR_CODES[code], spec.description);
    assert.ok(isErrorCode(code));
    const status = httpStatus(code);
    if (status !== undefined) assert.ok(status >= 400 && status <= 599, code);
  }
  assert.ok(!isErrorCode('toString') && !isErrorCode('NOPE'));
  assert.equal(errorMessage('OFFLOAD_TIMEOUT', { ms: 300 }), 'offload task ran past its 300 ms timeout; its thread was terminated');
  assert.equal(errorMessage('CACHE_UNKNOWN', { name: 'x', known: 'a, b' }), 'cache "x" is not configured; configured caches: a, b');
  assert.equal(httpStatus('APP_LOAD'), 503);
});

test('an error crosses a thread boundary with its name, message, stack and code', () => {
  const original = Object.assign(new TypeError('bad thing'), { code: 'SOME_CODE' });
  // structured clone (postMessage) alone drops the code
  const { port1, port2 } = new MessageChannel();
  port1.postMessage(original);
  const cloned = receiveMessageOnPort(port2)!.message as Error & { code?: string };
  assert.equal(cloned.code, undefined, 'if structured clone kept codes, this serializer would be moot');
  port1.postMessage(toWire(original));
  const wire = receiveMessageOnPort(port2)!.message as ReturnType<typeof toWire>;
  port1.close();
  const back = fromWire(wire);
  assert.equal(back.name, 'TypeError');
  assert.equal(back.message, 'bad thing');
  assert.equal(back.code, 'SOME_CODE');
  assert.equal(back.stack, original.stack);
  // the receiver's own coded error keeps its class and takes the sender's stack
  const coded = fromWire(toWire(original, 'OFFLOAD_FAILED'), new SpindleError('OFFLOAD_FAILED', 'bad thing'));
  assert.ok(coded instanceof SpindleError);
  assert.equal(coded.code, 'OFFLOAD_FAILED');
  assert.equal(coded.stack, original.stack);
  // thrown non-errors
  assert.deepEqual(toWire('just a string'), { name: 'Error', message: 'just a string' });
  assert.equal(errorDetail(42), '42');
  assert.equal(errorDetail(original), original.stack);
});

const invalid = (Class: ErrorConstructor | TypeErrorConstructor | RangeErrorConstructor) => (e: unknown) =>
  e instanceof Class && (e as { code?: string }).code === 'INVALID_ARGUMENT';

test('a wrong argument to the app API is a TypeError or RangeError with code INVALID_ARGUMENT', async () => {
  assert.throws(() => timer(-1, () => {}), invalid(RangeError));
  assert.throws(() => msTimer(5, () => {}), invalid(RangeError));
  assert.throws(() => timer(1, 5 as unknown as () => void), invalid(TypeError));
  assert.throws(() => setHarakiri(0), invalid(RangeError));
  assert.throws(() => cron('61 * * * *', () => {}), invalid(RangeError));
  assert.throws(() => cron(5 as unknown as string, () => {}), invalid(TypeError));
  assert.throws(() => registerSignal(1, 'worker', 'x' as unknown as () => void), invalid(TypeError));
  assert.throws(() => mulefunc(5 as unknown as () => void), invalid(TypeError));
  await assert.rejects(muleMsg(undefined), invalid(TypeError));
  await assert.rejects(offload({ fn: () => 1, timeout: -5 }), invalid(RangeError));
  await assert.rejects(offload(42 as unknown as () => void), invalid(TypeError));
  assert.ok(new SpindleTypeError('INVALID_ARGUMENT', 'x').stack!.startsWith('TypeError: x'));
  assert.ok(new SpindleRangeError('INVALID_ARGUMENT', 'x').stack!.startsWith('RangeError: x'));
});

test('the config parsers (addresses, schedules, owners, cron/timer/farm lines) throw CONFIG_INVALID_VALUE naming the input', () => {
  const bad = (input: string) => (e: unknown) =>
    e instanceof SpindleError && e.code === 'CONFIG_INVALID_VALUE' && e.message.includes(input);
  assert.throws(() => parseAddress('8000'), bad("'8000'"));
  assert.throws(() => parseAddress(':99999'), bad("':99999'"));
  assert.throws(() => parseAddress('::1:80'), bad("'::1:80'"));
  assert.throws(() => parseAddress(''), bad('cannot be empty'));
  assert.throws(() => parseSchedule('61 * * * *'), bad("'61'"));
  assert.throws(() => parseSchedule('*/0 * * * *'), bad("'*/0'"));
  assert.throws(() => parseSchedule({ minute: 99 }), bad('99'));
  assert.throws(() => parseSchedule({ hours: 1 } as never), bad("'hours'"));
  assert.throws(() => parseCronLine('* * * * * x'), bad("'* * * * * x'"));
  assert.throws(() => parseCron2Line('minute=x run'), bad("'minute=x run'"));
  assert.throws(() => parseTimerLine('300 1'), bad("'300 1'"));
  assert.throws(() => parseFarm('jobs:0'), bad("'jobs:0'"));
  assert.throws(() => resolveOwner('a:b:c'), bad("'a:b:c'"));
  assert.throws(() => resolveOwner('no-such-user-spindle'), bad("'no-such-user-spindle'"));
  assert.throws(() => parseCache2({ name: 'a', items: '5', itemz: '5' }), bad("'itemz'"));
});


/** A throw of a built-in error class (a Spindle* error or a class extending one carries a code). */
const PLAIN_THROW = /\bthrow\s+(?:Object\.assign\(\s*)?new\s+(?:Error|TypeError|RangeError|SyntaxError|ReferenceError|EvalError|URIError|AggregateError)\(/;
/** Why a plain throw needs no code: a bug in Spindle (invariant), coded by a caller, test-only, or a platform's own error. */
const WHY = /\b(bug|invariant|caught|caller|maintainer|test-only|only tests)\b|\bas (undici|Node)\b/i;

/** The comment of a line: from the first `//` outside a string literal ('http://x' is not one), or a JSDoc line. */
function commentOf(line: string): string {
  if (/^\s*\*/.test(line)) return line;
  let quote = '';
  for (let i = 0; i < line.length; i++) {
    const c = line[i]!;
    if (quote) {
      if (c === '\\') i++;
      else if (c === quote) quote = '';
    } else if (c === "'" || c === '"' || c === '`') quote = c;
    else if (c === '/' && line[i + 1] === '/') return line.slice(i);
  }
  return '';
}

/** The plain throws of `text` that no comment (on their line or the line before) explains. */
export function unmarkedThrows(text: string): number[] {
  const lines = text.split('\n');
  const out: number[] = [];
  lines.forEach((line, i) => {
    if (!PLAIN_THROW.test(line)) return;
    if (/\{\s*code:\s*'ERR_[A-Z_]+'/.test(line)) return; // Node's own error, with Node's code, as Node throws it
    if (WHY.test(commentOf(line)) || WHY.test(commentOf(lines[i - 1] ?? ''))) return;
    out.push(i + 1);
  });
  return out;
}

test('the throw scan: a plain throw needs a comment that says why; a URL or an unrelated comment is not one', () => {
  assert.deepEqual(unmarkedThrows("throw new Error('x');"), [1]);
  assert.deepEqual(unmarkedThrows("throw new RangeError('x'); // a bug if this fails"), []);
  assert.deepEqual(unmarkedThrows("// the caller codes it\nthrow new Error('x');"), []);
  assert.deepEqual(unmarkedThrows("throw new Error('see http://x/caught');"), [1]);
  assert.deepEqual(unmarkedThrows("f(); // tidy up\nthrow new TypeError('x');"), [2]);
  assert.deepEqual(unmarkedThrows("throw Object.assign(new Error('x'), { why: 1 });"), [1]);
  assert.deepEqual(unmarkedThrows("throw new SpindleError('CONFIG_FILE', 'x');"), []);
  assert.deepEqual(unmarkedThrows("throw new Error(`it's ${a}`); // the caller's own: a bug"), []);
});

test('every plain throw under src/ is marked as an invariant or caught by a caller that codes it', () => {
  const src = join(root, 'src');
  const list = (d: string): string[] => readdirSync(d).flatMap((n) => {
    const p = join(d, n);
    return statSync(p).isDirectory() ? list(p) : p.endsWith('.ts') ? [p] : [];
  });
  const unmarked: string[] = [];
  for (const file of list(src)) {
    const path = relative(src, file);
    const lines = readFileSync(file, 'utf8').split('\n');
    for (const n of unmarkedThrows(lines.join('\n'))) unmarked.push(`${path}:${n}: ${lines[n - 1]!.trim()}`);
  }
  assert.deepEqual(unmarked, [], 'throw a SpindleError (or SpindleTypeError/SpindleRangeError) with a code from src/errors.ts');
});
