// Where the app (and each mule) lives on disk. `app` is a file path (app.js, ./src/server.mjs) or
// uWSGI's module form, translated the way Python imports it:
//
//   module = myapp:app        ./myapp.js (or .mjs, .cjs, .ts, .mts, .cts), its export `app`
//   module = pkg.web:handler  ./pkg/web.js …, its export `handler` (dots are directories)
//   module = myapp            ./myapp.js …, the usual export detection (default, fetch, app)
//
// A value that names an existing file is always taken as the file. Relative paths resolve against
// chdir (or the current directory).
import { statSync } from 'node:fs';
import { resolve } from 'node:path';

export const MODULE_EXTENSIONS = ['.js', '.mjs', '.cjs', '.ts', '.mts', '.cts'] as const;

export interface AppModule {
  /** Absolute path of the module file (what was looked for, when `error` is set). */
  path: string;
  /** The export to serve: from module:callable or the callable option; undefined = detect. */
  exportName?: string;
  /** How a module form was translated, e.g. "module myapp:app = ./myapp.js, export app". */
  translation?: string;
  /** Why the module cannot be found; the explanation of the translation included. */
  error?: string;
}

const MODULE_FORM = /^([A-Za-z_$][\w$-]*(?:\.[A-Za-z_$][\w$-]*)*)(?::([A-Za-z_$][\w$]*))?$/;
const IDENTIFIER = /^[A-Za-z_$][\w$]*$/;

const isFile = (p: string) => {
  try {
    return statSync(p).isFile();
  } catch {
    return false;
  }
};
const exists = (p: string) => {
  try {
    statSync(p);
    return true;
  } catch {
    return false;
  }
};

/** `what` names the option in messages ('app', 'mule'); `callable` is the callable option. */
export function resolveAppModule(spec: string, base: string, callable?: string, what = 'app'): AppModule {
  const given = resolve(base, spec);
  if (callable !== undefined && !IDENTIFIER.test(callable)) {
    return { path: given, error: `callable = ${callable} is not an export name (a JavaScript identifier such as app or handler)` };
  }
  if (exists(given)) return { path: given, exportName: callable };
  const m = MODULE_FORM.exec(spec);
  const hasExtension = MODULE_EXTENSIONS.some((e) => spec.endsWith(e));
  if (!m || (hasExtension && !m[2])) {
    return { path: given, exportName: callable, error: `${what} ${spec}: no such file (${given})` };
  }
  const [, dotted, name] = m;
  if (name && callable !== undefined && name !== callable) {
    return { path: given, error: `${what} = ${spec} names the export ${name} but callable = ${callable}; keep one of the two` };
  }
  const exportName = name ?? callable;
  const stem = resolve(base, ...dotted!.split('.'));
  const candidates = MODULE_EXTENSIONS.map((e) => stem + e);
  const found = candidates.filter(isFile);
  const rel = `./${dotted!.split('.').join('/')}`;
  const form = `uWSGI's module form ${spec} means the file ${rel}.js (or ${MODULE_EXTENSIONS.slice(1).join(', ')}) in ${base}` +
    (exportName ? `, serving its export ${exportName}` : ', serving its default export (or a fetch or app export)');
  if (found.length === 0) {
    return { path: stem + '.js', exportName, error: `${what} = ${spec}: no such module: ${form}; none of these exists. Give the path of your app's entry file instead (e.g. ${what} = app.js${exportName ? `, callable = ${exportName}` : ''})` };
  }
  if (found.length > 1) {
    return { path: found[0]!, exportName, error: `${what} = ${spec} is ambiguous: ${found.join(' and ')} both exist; give the file path instead (e.g. ${what} = ${rel}${found[0]!.slice(stem.length)})` };
  }
  return { path: found[0]!, exportName, translation: `${what} = ${spec}: ${form}: ${found[0]}` };
}

/**
 * A `mule` program: as the app, except that a mule runs its module's default export, so an export
 * name is an error. `error` says why it cannot run (`spindle check` reports it; serving refuses).
 */
export function resolveMuleModule(spec: string, base: string): AppModule {
  const m = resolveAppModule(spec, base, undefined, 'mule');
  if (!m.error && m.exportName) return { path: m.path, error: `mule = ${spec}: a mule runs its module's default export; remove :${m.exportName}` };
  return m;
}
