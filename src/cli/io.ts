/** Where CLI commands write; tests pass their own. */
export interface CliIO {
  out: (text: string) => void;
  err: (text: string) => void;
}

export const processIO: CliIO = {
  out: (t) => { process.stdout.write(t); },
  err: (t) => { process.stderr.write(t); },
};

/** Split CLI-only flags (e.g. --json, --help) from the option flags, up to a `--`. */
export function takeFlags(argv: readonly string[], names: readonly string[]): { rest: string[]; found: Set<string> } {
  const rest: string[] = [];
  const found = new Set<string>();
  let passthrough = false;
  for (const a of argv) {
    if (a === '--') passthrough = true;
    if (!passthrough && names.includes(a)) found.add(a);
    else rest.push(a);
  }
  return { rest, found };
}
