// uWSGI-style ini files.
//
// - Sections [spindle] and [uwsgi] are read (both, in file order); any other section is skipped
//   and reported as a note (an ini file shared with other tools stays usable).
// - `key = value`; a line that is only `key` sets a boolean option to true.
// - Comments: whole lines starting with ';' or '#', and inline comments: ' ;' or ' #' (whitespace
//   before the marker) outside quotes, as in the production guide's config.
// - Quoted values: "..." (with \" and \\ escapes) or '...' keep their spaces exactly.
// - $(VAR) is replaced by the environment variable VAR (as uWSGI does); %d by the directory of
//   the ini file (with a trailing '/'), %p by its full path, %% by '%'. Other uWSGI magic
//   (%(name) placeholders, @(file) includes, if/for logic) is refused with an error.
// - A key outside any section is an error (uWSGI would silently ignore it), and so is a file whose
//   settings would all be skipped without a word: a section named like [uwsgi] or [spindle] but
//   misspelt ([uwsig]), or a file with neither section.
import { dirname, resolve } from 'node:path';
import { editDistance } from './suggest.js';

export interface IniEntry { key: string; value: string; line: number; bare: boolean }
export interface IniProblem { line: number; message: string }
export interface IniResult { entries: IniEntry[]; problems: IniProblem[]; notes: string[] }

const INI_SECTIONS = ['spindle', 'uwsgi'];

function stripValue(raw: string, line: number, problems: IniProblem[]): string | undefined {
  let s = raw.trim();
  const q = s[0];
  if (q === '"' || q === "'") {
    let out = '';
    let i = 1;
    for (; i < s.length; i++) {
      const c = s[i]!;
      if (q === '"' && c === '\\' && i + 1 < s.length) {
        out += s[++i];
        continue;
      }
      if (c === q) break;
      out += c;
    }
    if (i >= s.length) {
      problems.push({ line, message: `unterminated ${q === '"' ? 'double' : 'single'} quote` });
      return undefined;
    }
    const rest = s.slice(i + 1).trim();
    if (rest !== '' && !rest.startsWith(';') && !rest.startsWith('#')) {
      problems.push({ line, message: `unexpected text after the closing quote: ${rest}` });
      return undefined;
    }
    return out;
  }
  if (s.startsWith(';') || s.startsWith('#')) return ''; // `key = ; comment`
  // inline comment: ';' or '#' preceded by whitespace
  const m = /\s[;#]/.exec(s);
  if (m) s = s.slice(0, m.index);
  return s.trim();
}

function expand(value: string, file: string, env: Record<string, string | undefined>, line: number,
  problems: IniProblem[]): string {
  if (/%\(|@\(/.test(value)) {
    problems.push({ line, message: `placeholders such as %(name) and @(file) are not supported: ${value}` });
    return value;
  }
  return value
    .replace(/\$\(([A-Za-z_][A-Za-z0-9_]*)\)/g, (_, name: string) => {
      const v = env[name];
      if (v === undefined) {
        problems.push({ line, message: `environment variable ${name} in $(${name}) is not set` });
        return '';
      }
      return v;
    })
    .replace(/%([dp%])/g, (_, c: string) => (c === 'd' ? `${dirname(resolve(file))}/` : c === 'p' ? resolve(file) : '%'));
}

export function parseIni(text: string, file: string, env: Record<string, string | undefined> = {}): IniResult {
  const entries: IniEntry[] = [];
  const problems: IniProblem[] = [];
  const notes: string[] = [];
  let section: string | null = null;
  let reading = false;
  let readSome = false;
  /** Sections skipped that hold settings, with the line of their header. */
  const skipped: { name: string; line: number }[] = [];
  const lines = text.replace(/^\uFEFF/, '').split(/\r?\n/);
  for (let i = 0; i < lines.length; i++) {
    const lineNo = i + 1;
    const line = lines[i]!.trim();
    if (line === '' || line.startsWith(';') || line.startsWith('#')) continue;
    const sec = /^\[([^\]]*)\]\s*([;#].*)?$/.exec(line);
    if (sec) {
      section = sec[1]!.trim();
      reading = INI_SECTIONS.includes(section.toLowerCase());
      readSome ||= reading;
      if (!reading) {
        notes.push(`${file}:${lineNo}: section [${section}] skipped (Spindle reads [spindle] and [uwsgi])`);
        skipped.push({ name: section, line: lineNo });
      }
      continue;
    }
    if (line.startsWith('[')) {
      problems.push({ line: lineNo, message: `malformed section header: ${line}` });
      continue;
    }
    if (section === null) {
      problems.push({ line: lineNo, message: `'${line}' is outside any section; put it under [spindle] or [uwsgi]` });
      continue;
    }
    if (!reading) continue;
    const eq = line.indexOf('=');
    if (eq < 0) {
      const key = line.replace(/\s[;#].*$/, '').trim();
      if (/\s/.test(key)) {
        problems.push({ line: lineNo, message: `expected 'key = value': ${line}` });
        continue;
      }
      entries.push({ key, value: 'true', line: lineNo, bare: true });
      continue;
    }
    const key = line.slice(0, eq).trim();
    if (key === '' || /\s/.test(key)) {
      problems.push({ line: lineNo, message: `expected 'key = value': ${line}` });
      continue;
    }
    const value = stripValue(line.slice(eq + 1), lineNo, problems);
    if (value === undefined) continue;
    entries.push({ key, value: expand(value, file, env, lineNo, problems), line: lineNo, bare: false });
  }
  for (const { name, line } of skipped) {
    const meant = INI_SECTIONS.find((known) => editDistance(name.toLowerCase(), known) <= 2);
    if (meant) problems.push({ line, message: `section [${name}] is not read: did you mean [${meant}]? (Spindle reads [spindle] and [uwsgi]; none of its settings were applied)` });
    else if (!readSome) problems.push({ line, message: `the file has no [spindle] or [uwsgi] section, so none of its settings would be applied (its sections: ${skipped.map((x) => `[${x.name}]`).join(', ')})` });
  }
  return { entries, problems, notes };
}
