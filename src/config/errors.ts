import { SpindleError, type ConfigWarningCode, type ErrorCode } from '../errors.js';

/** Where a configuration value came from. */
export interface Origin {
  kind: 'default' | 'ini' | 'env' | 'flag' | 'api';
  /** ini: absolute path of the file */
  file?: string;
  /** ini: 1-based line number */
  line?: number;
  /** env: the variable name; flag: the flag as typed (or 'APP' for the positional); api: the key as given */
  name?: string;
}

export interface ConfigProblem {
  code: ErrorCode;
  /** the option's dashed name, when the problem is about a known option */
  option?: string;
  origin?: Origin;
  /** a complete sentence, starting with where the value came from */
  message: string;
}

/** A setting that is valid but will not do what it seems to; `code` (src/errors.ts CONFIG_WARNINGS) is its log `event`. */
export interface ConfigWarning {
  code: ConfigWarningCode;
  /** the option the warning is about, dashed */
  option?: string;
  message: string;
}

/** Thrown by loadConfig: every problem found, not just the first. */
export class ConfigError extends SpindleError {
  readonly problems: ConfigProblem[];
  constructor(problems: ConfigProblem[]) {
    const codes = new Set(problems.map((p) => p.code));
    const code: ErrorCode = codes.size === 1 ? problems[0]!.code : (problems[0]?.code ?? 'CONFIG_INVALID_VALUE');
    super(code, formatProblems(problems));
    this.name = 'ConfigError';
    this.problems = problems;
  }
}

function formatProblems(problems: readonly ConfigProblem[]): string {
  const head = `invalid configuration (${problems.length} problem${problems.length === 1 ? '' : 's'}):`;
  return [head, ...problems.map((p) => `  - ${p.message} [${p.code}]`)].join('\n');
}
