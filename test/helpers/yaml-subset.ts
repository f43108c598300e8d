// A strict parser for the small YAML subset our manifests use (no dependency): documents split by
// '---', block mappings and sequences by indentation, '- key: value' items, '|' literal blocks,
// JSON-style flow values ([..], {..}, "..."), 'single quotes', numbers, booleans, null, plain
// strings, and '#' comments. Anything else (anchors, tags, folded '>', '?' keys, tabs) is an error,
// so a manifest cannot silently drift outside what this checks.

type Yaml = string | number | boolean | null | Yaml[] | { [k: string]: Yaml };
interface Line { indent: number; text: string; no: number }

export function parseYamlDocuments(source: string): Yaml[] {
  const docs: string[][] = [[]];
  for (const raw of source.split('\n')) {
    if (/^---\s*$/.test(raw)) docs.push([]);
    else docs.at(-1)!.push(raw);
  }
  let offset = 0;
  const out: Yaml[] = [];
  for (const doc of docs) {
    const value = parseDocument(doc, offset);
    offset += doc.length + 1;
    if (value !== undefined) out.push(value);
  }
  return out;
}

function parseDocument(raw: string[], offset: number): Yaml | undefined {
  const p = new Parser(raw, offset);
  return p.document();
}

class Parser {
  private i = 0;
  constructor(private readonly raw: string[], private readonly offset: number) {}

  document(): Yaml | undefined {
    const first = this.peek();
    if (!first) return undefined;
    if (first.indent !== 0) this.fail(first, 'a document must start at column 0');
    const v = this.block(0);
    const rest = this.peek();
    if (rest) this.fail(rest, 'unexpected indentation');
    return v;
  }

  /** The next meaningful line (skips blanks and comment lines), without consuming it. */
  private peek(): Line | undefined {
    while (this.i < this.raw.length) {
      const text = this.raw[this.i]!;
      if (text.includes('\t')) this.fail({ indent: 0, text, no: this.i }, 'tabs are not allowed');
      const trimmed = text.trim();
      if (trimmed === '' || trimmed.startsWith('#')) { this.i++; continue; }
      return { indent: text.length - text.trimStart().length, text: trimmed, no: this.i };
    }
    return undefined;
  }

  private fail(line: Line, why: string): never {
    throw new Error(`YAML line ${this.offset + line.no + 1}: ${why}: ${line.text}`);
  }

  private block(indent: number): Yaml {
    const line = this.peek()!;
    return line.text === '-' || line.text.startsWith('- ') ? this.sequence(indent) : this.mapping(indent, null);
  }

  private sequence(indent: number): Yaml[] {
    const out: Yaml[] = [];
    for (let line = this.peek(); line && line.indent === indent && (line.text === '-' || line.text.startsWith('- ')); line = this.peek()) {
      const rest = line.text.slice(1).trimStart();
      if (rest === '') {
        this.i++;
        const next = this.peek();
        if (!next || next.indent <= indent) this.fail(line, 'an empty list item');
        out.push(this.block(next.indent));
      } else if (KEY.test(rest)) {
        // '- key: value' opens a mapping whose keys sit two columns in.
        out.push(this.mapping(indent + 2, { indent: indent + 2, text: rest, no: line.no }));
      } else {
        this.i++;
        out.push(scalar(rest, () => this.fail(line!, 'bad value')));
      }
    }
    return out;
  }

  private mapping(indent: number, firstLine: Line | null): { [k: string]: Yaml } {
    const out: { [k: string]: Yaml } = {};
    let pending = firstLine;
    for (;;) {
      const line = pending ?? this.peek();
      if (!line || line.indent !== indent) break;
      if (line.text.startsWith('- ')) this.fail(line, 'a list item where a key was expected');
      const m = KEY.exec(line.text);
      if (!m) this.fail(line, 'expected "key: value"');
      const key = m[1]!.startsWith('"') ? (JSON.parse(m[1]!) as string) : m[1]!;
      if (key in out) this.fail(line, `duplicate key ${key}`);
      const rest = stripComment(m[2] ?? '');
      pending = null;
      this.i = line.no + 1;
      if (rest === '') {
        const next = this.peek();
        if (next && next.indent > indent) out[key] = this.block(next.indent);
        else out[key] = null;
      } else if (rest === '|') {
        out[key] = this.literal(indent);
      } else {
        out[key] = scalar(rest, () => this.fail(line, 'bad value'));
      }
    }
    return out;
  }

  /** A '|' block: every following line indented deeper than the key, blank lines included. */
  private literal(keyIndent: number): string {
    const lines: string[] = [];
    let blockIndent = -1;
    while (this.i < this.raw.length) {
      const text = this.raw[this.i]!;
      if (text.trim() === '') { lines.push(''); this.i++; continue; }
      const ind = text.length - text.trimStart().length;
      if (ind <= keyIndent) break;
      if (blockIndent < 0) blockIndent = ind;
      if (ind < blockIndent) this.fail({ indent: ind, text, no: this.i }, 'a literal block line indented less than its first line');
      lines.push(text.slice(blockIndent));
      this.i++;
    }
    while (lines.length && lines.at(-1) === '') lines.pop();
    return lines.join('\n') + '\n';
  }
}

const KEY = /^("[^"]*"|[A-Za-z0-9_./-]+):(?:\s+(.*))?$/;

function stripComment(s: string): string {
  let quote = '';
  for (let i = 0; i < s.length; i++) {
    const c = s[i]!;
    if (quote) { if (c === quote) quote = ''; continue; }
    if (c === '"' || c === "'") quote = c;
    else if (c === '#' && (i === 0 || s[i - 1] === ' ')) return s.slice(0, i).trimEnd();
  }
  return s.trim();
}

function scalar(text: string, bad: () => never): Yaml {
  const s = stripComment(text);
  if (/^[&*!%@`>?|]/.test(s)) bad();
  if (s.startsWith('"') || s.startsWith('[') || s.startsWith('{')) {
    try { return JSON.parse(s) as Yaml; } catch { bad(); }
  }
  if (s.startsWith("'")) {
    if (!s.endsWith("'") || s.length < 2) bad();
    return s.slice(1, -1).replaceAll("''", "'");
  }
  if (s === 'true' || s === 'false') return s === 'true';
  if (s === 'null' || s === '~') return null;
  if (/^-?\d+(\.\d+)?$/.test(s)) return Number(s);
  if (/:\s|\s#/.test(s)) bad();
  return s;
}
