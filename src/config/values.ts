// Conversion of raw option values (strings from ini/env/flags, or typed values from start()) into
// the types of the option table. Each function returns the value or throws a ValueError whose
// message says what was expected.
import type { OptionSpec } from './options.js';
import { parseAddress } from './address.js';
import { boolWord } from './bool.js';

export class ValueError extends Error {}

export function parseBool(s: string): boolean {
  const b = boolWord(s);
  if (b === undefined) throw new ValueError('expected a boolean: true/false, 1/0, yes/no, on/off');
  return b;
}

const SIZE_UNITS: Record<string, number> = { '': 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3 };

/** 4096, 64k, 64K, 64kb, 10M, 1G → bytes (binary multiples). */
export function parseSize(s: string): number {
  const m = /^\s*(\d+(?:\.\d+)?)\s*([kmg]?)(?:i?b)?\s*$/i.exec(s);
  if (!m) throw new ValueError('expected a size in bytes: 4096, 64k, 10M, 1G');
  const bytes = Number(m[1]) * SIZE_UNITS[m[2]!.toLowerCase()]!;
  if (!Number.isSafeInteger(Math.round(bytes))) throw new ValueError('size too large');
  return Math.round(bytes);
}

/** Human form of a byte count, using the largest exact binary unit: 16384 → '16k'. */
function formatSize(n: number): string {
  for (const [u, f] of [['G', 1024 ** 3], ['M', 1024 ** 2], ['k', 1024]] as const) {
    if (n >= f && n % f === 0) return `${n / f}${u}`;
  }
  return String(n);
}

/**
 * uWSGI kvlist: items separated by ',', key and value by '=', backslash escapes any character
 * (`\,` `\=` `\\`). A bare item without '=' is an error here (uWSGI ignores it silently).
 */
export function parseKvlist(s: string): Record<string, string> {
  const out: Record<string, string> = {};
  let key = '';
  let val = '';
  let inVal = false;
  let any = false;
  const flush = () => {
    const k = key.trim();
    if (!inVal) {
      if (k === '') {
        if (any) throw new ValueError('empty item in key=value list');
        return;
      }
      throw new ValueError(`item '${k}' has no '=value' (expected key=value,key=value)`);
    }
    if (k === '') throw new ValueError(`item '=${val}' has no key`);
    if (Object.prototype.hasOwnProperty.call(out, k)) throw new ValueError(`key '${k}' appears twice`);
    out[k] = val;
  };
  for (let i = 0; i < s.length; i++) {
    const c = s[i]!;
    if (c === '\\' && i + 1 < s.length) {
      const n = s[++i]!;
      if (inVal) val += n;
      else key += n;
      continue;
    }
    if (c === ',') {
      any = true;
      flush();
      key = '';
      val = '';
      inVal = false;
      continue;
    }
    if (c === '=' && !inVal) {
      inVal = true;
      continue;
    }
    if (inVal) val += c;
    else key += c;
  }
  flush();
  if (Object.keys(out).length === 0) throw new ValueError('expected key=value,key=value');
  return out;
}

function formatKvlist(kv: Record<string, string>): string {
  const esc = (x: string) => x.replace(/[\\,=]/g, (c) => `\\${c}`);
  return Object.entries(kv).map(([k, v]) => `${esc(k)}=${esc(v)}`).join(',');
}

// Units accepted after a number, so that every value `spindle check` prints (60s, 250ms, 2048MB)
// can be written back: the factor converts to the option's own unit.
const UNIT_FACTORS: Record<'seconds' | 'milliseconds' | 'megabytes', Record<string, number>> = {
  seconds: { '': 1, ms: 0.001, s: 1, m: 60, h: 3600 },
  milliseconds: { '': 1, ms: 1, s: 1000, m: 60_000, h: 3_600_000 },
  megabytes: { '': 1, k: 1 / 1024, kb: 1 / 1024, m: 1, mb: 1, g: 1024, gb: 1024 },
};

/** '90', '1.5s', '500ms', '2m', '1h' (durations) or '512', '512MB', '2G' (megabytes) in the type's unit. */
function withUnit(type: 'seconds' | 'milliseconds' | 'megabytes', s: string): number | undefined {
  const m = /^\+?(\d+(?:\.\d*)?|\.\d+)\s*([a-z]*)$/i.exec(s);
  const factor = m ? UNIT_FACTORS[type][m[2]!.toLowerCase()] : undefined;
  if (!m || factor === undefined) return undefined;
  // rounded to nanos: 0.1s is 100 ms, not 100.00000000000001
  return Math.round(Number(m[1]) * factor * 1e9) / 1e9;
}

/** A short description of what the option accepts, for errors and --help. */
export function expectation(spec: OptionSpec): string {
  const range = (unit: string) => {
    const lo = spec.min;
    const hi = spec.max;
    const f = (n: number) => (spec.type === 'size' ? formatSize(n) : String(n));
    if (lo !== undefined && hi !== undefined) return `${unit} in ${f(lo)}..${f(hi)}`;
    if (lo !== undefined) return lo === 0 ? `${unit} >= 0` : `${unit} >= ${f(lo)}`;
    if (hi !== undefined) return `${unit} <= ${f(hi)}`;
    return unit;
  };
  switch (spec.type) {
    case 'bool': return 'a boolean (true/false, 1/0, yes/no, on/off)';
    case 'integer': return range('an integer');
    case 'seconds': return `${range('a number of seconds (decimals allowed)')}, or with a unit: 500ms, 30s, 5m, 1h`;
    case 'milliseconds': return `${range('a whole number of milliseconds')}, or with a unit: 250ms, 2s, 1m`;
    case 'megabytes': return `${range('a whole number of megabytes')}, or with a unit: 512MB, 2G`;
    case 'size': return range('a size (4096, 64k, 10M, 1G)');
    case 'enum': return `one of ${spec.choices!.join(', ')}`;
    case 'address': return 'an address: host:port, :port, [ipv6]:port or a UNIX path containing /';
    case 'mode': return 'an octal file mode such as 660';
    case 'keyvalue': return 'KEY=VALUE';
    case 'kvlist': return 'a key=value,key=value list';
    case 'path': return 'a path';
    case 'string': return 'a string';
  }
}

/** The placeholder shown after a flag in --help. */
export function metavar(spec: OptionSpec): string {
  switch (spec.type) {
    case 'bool': return '';
    case 'enum': return `<${spec.choices!.join('|')}>`;
    case 'seconds': return '<sec>';
    case 'milliseconds': return '<ms>';
    case 'megabytes': return '<MB>';
    case 'integer': return '<n>';
    default: return `<${spec.type}>`;
  }
}

function checkRange(spec: OptionSpec, n: number): number {
  if ((spec.min !== undefined && n < spec.min) || (spec.max !== undefined && n > spec.max)) {
    throw new ValueError(`out of range: expected ${expectation(spec)}`);
  }
  return n;
}

/** Convert one raw value (one item, for repeatable options) to the option's type. */
export function convertValue(spec: OptionSpec, raw: unknown): unknown {
  const expected = () => new ValueError(`expected ${expectation(spec)}`);
  if (typeof raw !== 'string') {
    // typed values from the programmatic API
    switch (spec.type) {
      case 'bool':
        if (typeof raw === 'boolean') return raw;
        if (raw === 0 || raw === 1) return raw === 1;
        throw expected();
      case 'integer': case 'milliseconds': case 'megabytes': case 'size':
        if (typeof raw === 'number' && Number.isInteger(raw)) return checkRange(spec, raw);
        throw expected();
      case 'seconds':
        if (typeof raw === 'number' && Number.isFinite(raw) && raw >= 0) return checkRange(spec, raw);
        throw expected();
      case 'kvlist':
        if (raw && typeof raw === 'object' && !Array.isArray(raw) &&
          Object.values(raw).every((v) => typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean')) {
          return Object.fromEntries(Object.entries(raw).map(([k, v]) => [k, String(v)]));
        }
        throw expected();
      case 'mode':
        if (typeof raw === 'number' && Number.isInteger(raw) && raw >= 0 && raw <= 0o7777) {
          return raw.toString(8);
        }
        throw expected();
      default:
        throw expected();
    }
  }
  const s = raw.trim();
  switch (spec.type) {
    case 'bool':
      return parseBool(s);
    case 'integer':
      if (!/^[+-]?\d+$/.test(s)) throw expected();
      return checkRange(spec, Number(s));
    case 'milliseconds':
    case 'megabytes':
    case 'seconds': {
      const n = withUnit(spec.type, s);
      if (n === undefined || (spec.type !== 'seconds' && !Number.isInteger(n))) throw expected();
      return checkRange(spec, n);
    }
    case 'size':
      try {
        return checkRange(spec, parseSize(s));
      } catch (e) {
        if (e instanceof ValueError && e.message.startsWith('out of range')) throw e;
        throw expected();
      }
    case 'enum': {
      const v = s.toLowerCase();
      if (!spec.choices!.includes(v)) throw expected();
      return v;
    }
    case 'address':
      try {
        parseAddress(s);
      } catch (e) {
        throw new ValueError(`${(e as Error).message}; expected ${expectation(spec)}`);
      }
      return s;
    case 'mode':
      if (!/^0?[0-7]{3,4}$/.test(s)) throw expected();
      return s.replace(/^0(?=[0-7]{3,4}$)/, '') || s;
    case 'keyvalue':
      if (!/^[A-Za-z_][A-Za-z0-9_]*=/.test(raw)) throw expected();
      return raw;
    case 'kvlist':
      return parseKvlist(raw);
    case 'path':
      if (s === '') throw new ValueError('expected a path, got an empty value');
      return s;
    case 'string':
      return raw; // strings keep their spaces (procname-prefix = "mysvc ")
  }
}

/** Human form of a resolved value, for `spindle check` and docs. */
export function formatValue(spec: OptionSpec, v: unknown): string {
  if (v === undefined) return '-';
  if (Array.isArray(v)) return v.length === 0 ? '-' : v.map((x) => formatValue(spec, x)).join(' ; ');
  switch (spec.type) {
    case 'kvlist': return formatKvlist(v as Record<string, string>);
    case 'seconds': return `${v}s`;
    case 'milliseconds': return `${v}ms`;
    case 'megabytes': return `${v}MB`;
    case 'size': return formatSize(v as number);
    case 'string': return JSON.stringify(v);
    default: return String(v);
  }
}
