// What the master needs from the configuration, in runtime units (milliseconds, bytes). The one
// place that knows the configuration's option names, so the rest of the master does not.
import { availableParallelism, totalmem } from 'node:os';
import { resolve } from 'node:path';
import { parseCacheSpec } from '../shm/cache-spec.js';
import type { CoreSpec } from '../shm/layout.js';
import { parseCronLine, parseCron2Line, parseFarm, parseTimerLine, type CommandCron } from '../config/cron.js';
import { resolveAppModule } from '../config/app-module.js';
import { resolveOwner, type Owner } from '../config/owner.js';
import type { AlgoName, CheaperOptions } from '../cheaper/types.js';

export interface ServerSettings {
  appPath: string;
  /** The export to serve (callable, or module = file:NAME); undefined = detect. */
  appExport?: string;
  /** Why the app module cannot be found (module form explained); the server refuses to start. */
  appNotFound?: string;
  /** Directory to change to before the app loads (uWSGI chdir); the app path is relative to it. */
  chdir?: string;
  /** KEY=VALUE pairs set in the environment before the workers start. */
  env: [string, string][];
  processes: number;
  concurrency: number;
  listeners: string[];
  /** uwsgi-socket addresses (nginx uwsgi_pass); ':port' binds 127.0.0.1. */
  uwsgiListeners: string[];
  chmodSocket?: number;
  /** chown-socket, resolved to ids (-1 = unchanged). */
  chownSocket?: Owner;
  pidfile?: string;
  backlogLimit: number;
  maxHeaderBytes: number;
  maxBodyBytes: number;
  socketTimeoutMs: number;
  /** request-read-timeout: a whole request (head and body) must arrive within this (0 = no limit). */
  requestReadTimeoutMs: number;
  dieOnTerm: boolean;
  needApp: boolean;
  vacuum: boolean;
  mercyMs: number;
  harakiriMs: number;
  harakiriVerbose: boolean;
  harakiriGraceMs: number;
  maxRequests: number;
  maxRequestsDelta: number;
  maxLifetimeMs: number;
  maxLifetimeDeltaMs: number;
  minLifetimeMs: number;
  reloadOnHeapBytes: number;
  evilReloadOnHeapBytes: number;
  heapLimitMb: number;
  /** Adaptive worker count (cheaper > 0); null when off. */
  cheaper: CheaperOptions | null;
  /** uWSGI master FIFO: single-byte commands (+ - r c q Q); undefined when off. */
  masterFifo?: string;
  /** process title, worker labels and the thread names (Linux: 15 bytes) of workers and mules */
  names: { master: string; worker: (id: number) => string; workerThread: (id: number) => string; muleThread: (id: number) => string };
  logRequests: boolean;
  log4xx: boolean;
  log5xx: boolean;
  logSlowMs: number;
  logLevel: string;
  logFormat: string;
  /** logto: append the log lines to this file (absolute) instead of stdout. */
  logto?: string;
  /** The stats server (stats, stats-http, stats-minified, stats-public); undefined when off. */
  stats?: { address: string; http: boolean; minified: boolean; public: boolean };
  /** The shared-memory core (caches, locks, counters); worker and mule slot counts are set by the server. */
  shm: Omit<CoreSpec, 'workerSlots' | 'muleSlots'>;
  /** Timers, crons, mules and offload (src/master/background.ts). */
  background: BackgroundSettings;
  /** Full reload and its triggers (src/master/full-reload.ts, touch-files.ts). */
  processRecycle: ProcessRecycleSettings;
}

export interface ProcessRecycleSettings {
  /** reload-on-process-rss in bytes (0 = off). */
  rssBytes: number;
  /** rssBytes is the derived default, not a configured value (nothing to warn about where it cannot apply). */
  rssDefault: boolean;
  /** max-process-lifetime (0 = off). */
  lifetimeMs: number;
  /** full-reload-timeout */
  timeoutMs: number;
  touchReload: string[];
  touchChainReload: string[];
}

type Config = Record<string, unknown>;

const num = (c: Config, key: string, fallback: number): number =>
  typeof c[key] === 'number' ? (c[key] as number) : fallback;
const bool = (c: Config, key: string, fallback: boolean): boolean =>
  typeof c[key] === 'boolean' ? (c[key] as boolean) : fallback;
const str = (c: Config, key: string): string | undefined =>
  typeof c[key] === 'string' && c[key] !== '' ? (c[key] as string) : undefined;
const list = (c: Config, key: string): string[] =>
  Array.isArray(c[key]) ? (c[key] as string[]) : typeof c[key] === 'string' ? [c[key] as string] : [];

const MB = 1024 * 1024;

export function settingsFromConfig(config: object, cwd = process.cwd()): ServerSettings {
  const c = config as Config;
  const app = str(c, 'app') ?? '';
  const chmod = str(c, 'chmodSocket');
  const chdir = str(c, 'chdir') ? resolve(cwd, str(c, 'chdir')!) : undefined;
  const appModule = app ? resolveAppModule(app, chdir ?? cwd, str(c, 'callable')) : undefined;
  return {
    appPath: appModule?.path ?? '',
    ...(appModule?.exportName ? { appExport: appModule.exportName } : {}),
    ...(appModule?.error ? { appNotFound: appModule.error } : {}),
    chdir,
    env: list(c, 'env').map((kv) => {
      const i = kv.indexOf('=');
      return [kv.slice(0, i), kv.slice(i + 1)] as [string, string];
    }),
    processes: num(c, 'processes', availableParallelism()),
    concurrency: num(c, 'concurrency', 0),
    listeners: list(c, 'httpSocket'),
    uwsgiListeners: list(c, 'uwsgiSocket'),
    chmodSocket: chmod ? parseInt(chmod, 8) : undefined,
    chownSocket: str(c, 'chownSocket') ? resolveOwner(str(c, 'chownSocket')!) : undefined,
    pidfile: str(c, 'pidfile') ? resolve(cwd, str(c, 'pidfile')!) : undefined,
    backlogLimit: num(c, 'listen', 1024),
    maxHeaderBytes: num(c, 'bufferSize', 16384),
    maxBodyBytes: num(c, 'limitPost', 16 * MB),
    socketTimeoutMs: num(c, 'socketTimeout', 10) * 1000,
    requestReadTimeoutMs: num(c, 'requestReadTimeout', 60) * 1000,
    dieOnTerm: bool(c, 'dieOnTerm', true),
    needApp: bool(c, 'needApp', true),
    vacuum: bool(c, 'vacuum', true),
    mercyMs: num(c, 'workerReloadMercy', 60) * 1000,
    harakiriMs: num(c, 'harakiri', 60) * 1000,
    harakiriVerbose: bool(c, 'harakiriVerbose', false),
    harakiriGraceMs: num(c, 'harakiriGracefulTimeout', 0) * 1000,
    maxRequests: num(c, 'maxRequests', 0),
    maxRequestsDelta: num(c, 'maxRequestsDelta', 0),
    maxLifetimeMs: num(c, 'maxWorkerLifetime', 3600) * 1000,
    maxLifetimeDeltaMs: num(c, 'maxWorkerLifetimeDelta', 0) * 1000,
    minLifetimeMs: num(c, 'minWorkerLifetime', 10) * 1000,
    reloadOnHeapBytes: num(c, 'reloadOnRss', 2048) * MB,
    evilReloadOnHeapBytes: num(c, 'evilReloadOnRss', 0) * MB,
    heapLimitMb: num(c, 'workerHeapLimit', 4096),
    cheaper: cheaperOptions(c, num(c, 'processes', availableParallelism())),
    masterFifo: str(c, 'masterFifo') ? resolve(cwd, str(c, 'masterFifo')!) : undefined,
    names: processNames(c),
    logRequests: !bool(c, 'disableLogging', true),
    log4xx: bool(c, 'log4xx', true),
    log5xx: bool(c, 'log5xx', true),
    logSlowMs: num(c, 'logSlow', 0),
    logLevel: str(c, 'logLevel') ?? 'info',
    logFormat: str(c, 'logFormat') ?? 'auto',
    logto: str(c, 'logto') ? resolve(cwd, str(c, 'logto')!) : undefined,
    stats: str(c, 'stats') ? {
      address: str(c, 'stats')!.includes('/') ? resolve(cwd, str(c, 'stats')!) : str(c, 'stats')!,
      http: bool(c, 'statsHttp', false),
      minified: bool(c, 'statsMinified', false),
      public: bool(c, 'statsPublic', false),
    } : undefined,
    shm: {
      caches: (Array.isArray(c.cache2) ? (c.cache2 as Record<string, string>[]) : []).map(parseCacheSpec)
        .map((spec) => (spec.store ? { ...spec, store: resolve(cwd, spec.store) } : spec)),
      locks: num(c, 'locks', 0),
      counters: { max: num(c, 'countersMax', 256), declared: list(c, 'counter') },
    },
    background: backgroundSettings(c, chdir ?? cwd),
    processRecycle: {
      rssBytes: typeof c['reloadOnProcessRss'] === 'number' ? c['reloadOnProcessRss'] * MB : defaultProcessRssBytes(),
      rssDefault: typeof c['reloadOnProcessRss'] !== 'number',
      lifetimeMs: num(c, 'maxProcessLifetime', 0) * 1000,
      timeoutMs: num(c, 'fullReloadTimeout', 60) * 1000,
      touchReload: list(c, 'touchReload').map((p) => resolve(cwd, p)),
      touchChainReload: list(c, 'touchChainReload').map((p) => resolve(cwd, p)),
    },
  };
}

/** reload-on-process-rss when not configured: 80% of the memory this process may use. */
export function defaultProcessRssBytes(): number {
  // constrainedMemory: the cgroup limit (0, or a huge number, when there is none).
  const limit = process.constrainedMemory?.() ?? 0;
  const available = limit > 0 ? Math.min(limit, totalmem()) : totalmem();
  return Math.floor((available * 0.8) / MB) * MB;
}

/**
 * Process and worker names as uWSGI builds them: `procname-prefix` + name + `procname-append`,
 * `procname-prefix-spaced` adds the space, `procname` replaces every name, `procname-master` the
 * master's. Without auto-procname (and no naming option) the master keeps its own title.
 */
function processNames(c: Config): ServerSettings['names'] {
  const prefix = str(c, 'procnamePrefix') ?? (str(c, 'procnamePrefixSpaced') ? `${str(c, 'procnamePrefixSpaced')} ` : '');
  const append = str(c, 'procnameAppend') ?? '';
  const every = str(c, 'procname');
  const master = str(c, 'procnameMaster');
  const auto = bool(c, 'autoProcname', true) || Boolean(prefix || append || every || master);
  const wrap = (name: string) => `${prefix}${name}${append}`;
  const worker = (id: number) => wrap(every ?? `spindle worker ${id}`);
  return {
    master: auto ? wrap(master ?? every ?? 'spindle master') : '',
    worker,
    workerThread: (id) => threadName(worker(id), prefix, `w${id}`),
    muleThread: (id) => threadName(wrap(every ?? `spindle mule ${id}`), prefix, `m${id}`),
  };
}

const THREAD_NAME_BYTES = 15; // the kernel's limit (TASK_COMM_LEN - 1)

/**
 * A thread's name as `top -H` and `ps -L` show it: the whole name when it fits in 15 bytes, else
 * the prefix and a short id ('mysvc spindle w3', then 'mysvc w3', then the prefix cut: 'my-long-servw3'),
 * so the prefix and the worker id both show.
 */
export function threadName(full: string, prefix: string, id: string): string {
  const bytes = (t: string) => Buffer.byteLength(t);
  for (const candidate of [full, `${prefix}spindle ${id}`, `${prefix}${id}`]) if (bytes(candidate) <= THREAD_NAME_BYTES) return candidate;
  let head = '';
  for (const ch of prefix) { // whole characters only
    if (bytes(head + ch) + bytes(id) > THREAD_NAME_BYTES) break;
    head += ch;
  }
  return `${head}${id}`;
}

/** The cheaper options in runtime units; null when cheaper = 0 (a fixed pool of processes). */
function cheaperOptions(c: Config, processes: number): CheaperOptions | null {
  const min = num(c, 'cheaper', 0);
  if (min <= 0) return null;
  return {
    algo: (str(c, 'cheaperAlgo') ?? 'busyness') as AlgoName,
    min,
    processes,
    initial: num(c, 'cheaperInitial', min),
    step: num(c, 'cheaperStep', 1),
    overload: num(c, 'cheaperOverload', 3),
    checkIntervalMs: 1000,
    busyness: {
      min: num(c, 'cheaperBusynessMin', 25),
      max: num(c, 'cheaperBusynessMax', 50),
      multiplier: num(c, 'cheaperBusynessMultiplier', 10),
      penalty: num(c, 'cheaperBusynessPenalty', 2),
      backlogAlert: num(c, 'cheaperBusynessBacklogAlert', 33),
      backlogStep: num(c, 'cheaperBusynessBacklogStep', 1),
      backlogMultiplier: num(c, 'cheaperBusynessBacklogMultiplier', 3),
      backlogNonzeroMs: num(c, 'cheaperBusynessBacklogNonzero', 60) * 1000,
      verbose: bool(c, 'cheaperBusynessVerbose', false),
    },
  };
}

export interface BackgroundSettings {
  /** Mules in id order (1..): `mule` lines first (program = absolute path, '' = generic), then `mules`. */
  mules: { id: number; program: string; farms: string[] }[];
  farms: { name: string; mules: number[] }[];
  muleHarakiriMs: number;
  muleQueue: number;
  /** `timer = "SIGNUM SECONDS"` */
  signalTimers: { signal: number; seconds: number }[];
  commandCrons: CommandCron[];
  cronHarakiriMs: number;
  offloadThreads: number;
}

function backgroundSettings(c: Config, base: string): BackgroundSettings {
  const farms = list(c, 'farm').map(parseFarm);
  const mules = [
    ...list(c, 'mule').map((p) => (p.trim() ? resolveAppModule(p.trim(), base, undefined, 'mule').path : '')),
    ...new Array<string>(num(c, 'mules', 0)).fill(''),
  ].map((program, i) => ({ id: i + 1, program, farms: farms.filter((f) => f.mules.includes(i + 1)).map((f) => f.name) }));
  return {
    mules,
    farms,
    muleHarakiriMs: num(c, 'muleHarakiri', 0) * 1000,
    muleQueue: num(c, 'muleMsgQueue', 1024),
    signalTimers: list(c, 'timer').map(parseTimerLine),
    commandCrons: [
      ...list(c, 'cron').map((l) => parseCronLine(l)),
      ...list(c, 'uniqueCron').map((l) => parseCronLine(l, true)),
      ...list(c, 'cron2').map(parseCron2Line),
    ],
    cronHarakiriMs: num(c, 'cronHarakiri', 0) * 1000,
    offloadThreads: num(c, 'offloadThreads', 2),
  };
}
