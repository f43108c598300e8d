// Loads the user's application module and picks the adapter for the form it exports.
//
// Detection rules, applied to the first candidate export that exists, in this order:
// the default export (for CommonJS, `module.exports`; a transpiled `exports.default` inside it is
// unwrapped), then a named `fetch` export, then a named `app` export.
//
//   1. Fastify instance (has ready(), routing() and inject())      → kind 'fastify': await ready(),
//      then every request goes through its router; close() closes it.
//   2. Koa instance (has callback(), use() and a middleware array)  → kind 'koa': callback() once.
//   3. Object or function with a `fetch` method (`export default { fetch }`, a Hono app)
//                                                                   → kind 'fetch', `this` = the object.
//   4. A function named `fetch`, or one declared with exactly one parameter
//      (`export default function fetch(request)`, `export default (request) => …`) → kind 'fetch'.
//      A Node handler needs two parameters (req, res), so one parameter can only mean a fetch handler.
//   5. Any other function (plain `(req, res)`, an Express app, Koa's `app.callback()`)
//                                                                   → kind 'node'.
// A named `fetch` export must be a function (rule 4 applies regardless of its arity).
// Anything else is AppLoadError 'no-export', listing what the module exports.

import { stat } from 'node:fs/promises';
import { isAbsolute, resolve as resolvePath } from 'node:path';
import { pathToFileURL } from 'node:url';
import { SpindleError } from '../errors.js';
import type { AppKind, LoadedApp, NodeDispatchTarget } from './app-types.js';
import { BackgroundTasks, makeFetchHandler, type FetchFunction } from './adapters/fetch.js';
import type { NodeDispatch } from './adapters/node.js';
import { describeValue } from './adapters/guard.js';
import { errorDetail } from '../protocol/errors.js';

export type AppLoadReason = 'not-found' | 'syntax' | 'threw' | 'no-export' | 'typescript';

/**
 * Node runs TypeScript by stripping the types, without a flag, from 22.18 (22.x) and 23.6; on an
 * older Node a .ts app fails with ERR_UNKNOWN_FILE_EXTENSION, which says nothing of what to do.
 */
const TS_HINT = 'Node runs TypeScript apps itself (type stripping, no flags) from version 22.18 (or 23.6); ' +
  'on this Node compile the app with tsc and serve the .js it writes (spindle dist/app.js), or upgrade Node. ' +
  'Type stripping takes erasable syntax only: no enum or namespace, and imports name their .ts files.';

export class AppLoadError extends SpindleError {
  readonly reason: AppLoadReason;
  override readonly cause: unknown;
  readonly path: string;
  constructor(reason: AppLoadReason, path: string, message: string, cause?: unknown) {
    super('APP_LOAD', message, { cause });
    this.name = 'AppLoadError';
    this.reason = reason;
    this.cause = cause;
    this.path = path;
  }
}

export interface LoadAppOptions {
  /** Where rejections of fetch `ctx.waitUntil()` promises go; default: console.error. */
  onBackgroundError?: (err: unknown) => void;
  /** Base directory for a relative modulePath; default process.cwd(). */
  cwd?: string;
  /** Serve this export (the callable option, module = file:NAME) instead of detecting one. */
  exportName?: string;
}

export const ACCEPTED_FORMS = [
  'export default { fetch(request, ctx) { return new Response(…) } }  (also a Hono app: export default app)',
  'export function fetch(request, ctx) { … }  or  export default function fetch(request) { … }',
  'export default (req, res) => { … }  (a Node handler; also an Express app or Koa\'s app.callback())',
  'export default koaApp  (a Koa instance)',
  'export default fastifyApp  (a Fastify instance, not listening; Spindle calls ready())',
  'CommonJS: module.exports = any of the above; a named `app` export is also accepted',
].map((s) => '  - ' + s).join('\n');

function causeText(err: unknown): string {
  if (err instanceof Error) return errorDetail(err);
  return `thrown value: ${describeValue(err)}`;
}

function isSyntaxError(err: unknown): boolean {
  if (!(err instanceof SyntaxError)) return false;
  // A parse or link error comes from the compiler/linker (or has no frames at all); a
  // SyntaxError the module threw while running (JSON.parse at import time) starts in its code.
  const frame = /\n\s+at ([^\n]*)/.exec(err.stack ?? '');
  if (!frame) return true;
  return /\b(wrapSafe|compileSourceTextModule|internalCompileFunction|compileFunction|ModuleJob\.(?:_instantiate|_link))|#(?:asyncInstantiate|instantiate|link)\b/.test(frame[1]!);
}

/**
 * Imports `modulePath` (relative to the cwd, or absolute; .js/.mjs/.cjs) and returns its handler.
 * Throws AppLoadError with reason 'not-found', 'syntax', 'threw' or 'no-export'; its message
 * names the path and includes the cause's stack.
 */
export async function loadApp(modulePath: string, options: LoadAppOptions = {}): Promise<LoadedApp> {
  const abs = isAbsolute(modulePath) ? modulePath : resolvePath(options.cwd ?? process.cwd(), modulePath);
  try {
    const st = await stat(abs);
    if (!st.isFile()) {
      throw new AppLoadError('not-found', abs, `Cannot load the application ${abs}: it is a directory, not a module file.`);
    }
  } catch (err) {
    if (err instanceof AppLoadError) throw err;
    throw new AppLoadError('not-found', abs, `Cannot load the application ${abs}: no such file` +
      (modulePath !== abs ? ` (given as ${JSON.stringify(modulePath)}, resolved against ${options.cwd ?? process.cwd()})` : '') +
      `.\n${causeText(err)}`, err);
  }

  let ns: Record<string, unknown>;
  try {
    ns = (await import(pathToFileURL(abs).href)) as Record<string, unknown>;
  } catch (err) {
    const code = (err as { code?: unknown } | null)?.code;
    if (code === 'ERR_UNKNOWN_FILE_EXTENSION' && /\.[cm]?ts$/.test(abs)) {
      throw new AppLoadError('typescript', abs, `Cannot load the application ${abs}: Node ${process.version} cannot run a .ts file. ${TS_HINT}`);
    }
    if (code === 'ERR_MODULE_NOT_FOUND' || code === 'MODULE_NOT_FOUND') {
      throw new AppLoadError('not-found', abs,
        `Cannot load the application ${abs}: a module it imports was not found (is a dependency missing?).\n${causeText(err)}`, err);
    }
    if (isSyntaxError(err)) {
      throw new AppLoadError('syntax', abs, `Cannot load the application ${abs}: syntax error.\n${causeText(err)}`, err);
    }
    throw new AppLoadError('threw', abs, `Cannot load the application ${abs}: it threw while being imported.\n${causeText(err)}`, err);
  }

  const background = new BackgroundTasks(options.onBackgroundError ?? ((err) => console.error('spindle: a waitUntil() task failed:', err)));
  const picked = options.exportName ? await pickNamed(ns, options.exportName, abs, background) : await pick(ns, abs, background);
  const appClose = picked.close;
  return {
    handler: picked.handler,
    kind: picked.kind,
    ...(picked.dispatch ? { dispatch: picked.dispatch } : {}),
    path: abs,
    description: picked.description,
    close: async () => {
      await background.drain();
      if (appClose) await appClose();
    },
  };
}

interface Picked {
  handler: LoadedApp['handler'];
  kind: AppKind;
  dispatch?: NodeDispatchTarget;
  description: string;
  close?: () => Promise<void>;
}

type Obj = Record<string, unknown>;

/** The Node adapter (and node:http under it) loads only for Node-style apps: fetch apps start faster. */
const nodeAdapter = () => import('./adapters/node.js');

function isFastify(v: unknown): v is Obj & { ready(): Promise<unknown>; routing: NodeDispatch; close(): Promise<unknown> } {
  const o = v as Obj;
  return typeof o.ready === 'function' && typeof o.routing === 'function' && typeof o.inject === 'function';
}

function isKoa(v: unknown): v is Obj & { callback(): NodeDispatch } {
  const o = v as Obj;
  return typeof o.callback === 'function' && typeof o.use === 'function' && Array.isArray(o.middleware);
}

function isExpress(v: Function): boolean {
  const o = v as unknown as Obj;
  return typeof o.handle === 'function' && typeof o.use === 'function' && typeof o.set === 'function';
}

async function classify(value: unknown, where: string, abs: string, bg: BackgroundTasks): Promise<Picked | undefined> {
  if (value === null || (typeof value !== 'object' && typeof value !== 'function')) return undefined;
  if (isFastify(value)) {
    try {
      await value.ready();
    } catch (err) {
      throw new AppLoadError('threw', abs, `Cannot load the application ${abs}: the Fastify instance (${where}) failed in ready().\n${causeText(err)}`, err);
    }
    const app = value;
    return {
      handler: (await nodeAdapter()).makeNodeHandler(app.routing, app),
      dispatch: { fn: app.routing, thisArg: app },
      kind: 'fastify',
      description: `${where}: Fastify instance`,
      close: async () => { await app.close(); },
    };
  }
  if (isKoa(value)) {
    const callback = value.callback();
    return { handler: (await nodeAdapter()).makeNodeHandler(callback), dispatch: { fn: callback }, kind: 'koa', description: `${where}: Koa instance` };
  }
  const fetchMethod = (value as Obj).fetch;
  if (typeof fetchMethod === 'function') {
    const ctor = (value as object).constructor?.name;
    const what = ctor === 'Hono' ? 'Hono app' : 'object with fetch()';
    return { handler: makeFetchHandler(fetchMethod as FetchFunction, value, bg), kind: 'fetch', description: `${where}: ${what}` };
  }
  if (typeof value === 'function') {
    if (value.name === 'fetch' || value.length === 1) {
      return { handler: makeFetchHandler(value as FetchFunction, undefined, bg), kind: 'fetch', description: `${where}: fetch function` };
    }
    const what = isExpress(value) ? 'Express app' : 'Node (req, res) handler';
    return { handler: (await nodeAdapter()).makeNodeHandler(value as NodeDispatch), dispatch: { fn: value as NodeDispatch }, kind: 'node', description: `${where}: ${what}` };
  }
  return undefined;
}

/** The export the configuration names (`callable`, module = file:NAME); for CommonJS also a property of module.exports. */
async function pickNamed(ns: Obj, name: string, abs: string, bg: BackgroundTasks): Promise<Picked> {
  const cjs = ns.default && typeof ns.default === 'object' ? (ns.default as Obj) : undefined;
  const value = name in ns ? ns[name] : cjs?.[name];
  const picked = await classify(value, name === 'default' ? 'default export' : `export ${name}`, abs, bg);
  if (picked) return picked;
  throw new AppLoadError('no-export', abs,
    `Cannot load the application ${abs}: the configuration asks for its export ${name} (callable, or module = file:${name}), ` +
    `${value === undefined ? 'which it does not have' : `which is ${describeValue(value)}, not an app`}.\n` +
    `Found: ${exportList(ns)}\n` +
    `Name one of these exports, or remove callable (and the :${name} of module) to use the default export.\nAccepted forms:\n${ACCEPTED_FORMS}`);
}

/** What a module exports, for the no-export errors. */
function exportList(ns: Obj): string {
  const found = Object.keys(ns).map((key) => `${key === 'default' ? 'default export' : `export ${key}`}: ${describeValue(ns[key])}`);
  return found.length ? '\n' + found.map((f) => '  - ' + f).join('\n') : 'no exports at all';
}

async function pick(ns: Obj, abs: string, bg: BackgroundTasks): Promise<Picked> {
  let def = ns.default;
  // CommonJS transpiled from ESM: module.exports = { __esModule: true, default: app }
  if (def && typeof def === 'object' && (def as Obj).__esModule && (def as Obj).default !== undefined) {
    def = (def as Obj).default;
  }
  const fromDefault = await classify(def, 'default export', abs, bg);
  if (fromDefault) return fromDefault;
  if (typeof ns.fetch === 'function') {
    return { handler: makeFetchHandler(ns.fetch as FetchFunction, undefined, bg), kind: 'fetch', description: 'named export fetch' };
  }
  const fromApp = await classify(ns.app, 'named export app', abs, bg);
  if (fromApp) return fromApp;

  throw new AppLoadError('no-export', abs,
    `Cannot load the application ${abs}: it has no usable export.\n` +
    `Found: ${exportList(ns)}\n` +
    `Accepted forms:\n${ACCEPTED_FORMS}`);
}
