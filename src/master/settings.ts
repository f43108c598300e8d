// What the master needs from the configuration, in runtime units (milliseconds, bytes). The one
// place that knows the configuration's option names, so the rest of the master does not. The
// configuration arrives typed by the option table with its defaults applied: no default is
// restated here, and structured values (crons, caches, owners) come parsed (LoadedConfig.parsed).
import { totalmem } from 'node:os';
import { resolve } from 'node:path';
import type { CoreSpec } from '../shm/layout.js';
import type { CommandCron } from '../config/cron.js';
import type { ParsedConfig, SpindleConfig } from '../config/options.js';
import { resolveAppModule, resolveMuleModule } from '../config/app-module.js';
import type { Owner } from '../config/owner.js';
import type { CheaperOptions } from '../cheaper/types.js';

export interface ServerSettings {
  appPath: string;
  /** The export to serve (callable, or module = file:NAME); undefined = detect. */
  appExport?: string;
  /** Why the app module cannot be found (module form explained); the server refuses to start. */
  appNotFound?: string;
  /** Why a `mule` program cannot run (the first one that cannot); serving refuses it as an app not found. */
  muleNotFound?: string;
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
  /** the master's process title and the thread names (Linux: 15 bytes) of workers and mules */
  names: { master: string; workerThread: (id: number) => string; muleThread: (id: number) => string };
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
  /** Full reload and its triggers (src/master/full-reload/, touch-files.ts). */
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

/** What the settings are made of: a loaded configuration (defaults applied, parse hooks run). */
export interface TypedConfig {
  config: SpindleConfig;
  parsed: ParsedConfig;
}

const MB = 1024 * 1024;
/** seconds (the options' unit) → milliseconds */
const ms = (seconds: number): number => seconds * 1000;
/** an optional string option: '' counts as unset */
const given = (v: string | undefined): string | undefined => (v === '' ? undefined : v);

export function settingsFromConfig({ config: c, parsed }: TypedConfig, cwd = process.cwd()): ServerSettings {
  const app = given(c.app) ?? '';
  const chdir = given(c.chdir) ? resolve(cwd, c.chdir!) : undefined;
  const appModule = app ? resolveAppModule(app, chdir ?? cwd, given(c.callable)) : undefined;
  const muleModules = c.mule.map((p) => (p.trim() ? resolveMuleModule(p.trim(), chdir ?? cwd) : undefined));
  const muleNotFound = muleModules.find((m) => m?.error)?.error;
  const chmod = given(c.chmodSocket);
  const stats = given(c.stats);
  return {
    appPath: appModule?.path ?? '',
    ...(appModule?.exportName ? { appExport: appModule.exportName } : {}),
    ...(appModule?.error ? { appNotFound: appModule.error } : {}),
    ...(muleNotFound ? { muleNotFound } : {}),
    chdir,
    env: c.env.map((kv) => {
      const i = kv.indexOf('=');
      return [kv.slice(0, i), kv.slice(i + 1)] as [string, string];
    }),
    processes: c.processes,
    concurrency: c.concurrency,
    listeners: c.httpSocket,
    uwsgiListeners: c.uwsgiSocket,
    chmodSocket: chmod ? parseInt(chmod, 8) : undefined,
    chownSocket: parsed.chownSocket,
    pidfile: given(c.pidfile) ? resolve(cwd, c.pidfile!) : undefined,
    backlogLimit: c.listen,
    maxHeaderBytes: c.bufferSize,
    maxBodyBytes: c.limitPost,
    socketTimeoutMs: ms(c.socketTimeout),
    requestReadTimeoutMs: ms(c.requestReadTimeout),
    dieOnTerm: c.dieOnTerm,
    needApp: c.needApp,
    vacuum: c.vacuum,
    mercyMs: ms(c.workerReloadMercy),
    harakiriMs: ms(c.harakiri),
    harakiriVerbose: c.harakiriVerbose,
    harakiriGraceMs: ms(c.harakiriGracefulTimeout),
    maxRequests: c.maxRequests,
    maxRequestsDelta: c.maxRequestsDelta,
    maxLifetimeMs: ms(c.maxWorkerLifetime),
    maxLifetimeDeltaMs: ms(c.maxWorkerLifetimeDelta),
    minLifetimeMs: ms(c.minWorkerLifetime),
    reloadOnHeapBytes: c.reloadOnRss * MB,
    evilReloadOnHeapBytes: c.evilReloadOnRss * MB,
    heapLimitMb: c.workerHeapLimit,
    cheaper: cheaperOptions(c),
    masterFifo: given(c.masterFifo) ? resolve(cwd, c.masterFifo!) : undefined,
    names: processNames(c),
    logRequests: !c.disableLogging,
    log4xx: c.log4xx,
    log5xx: c.log5xx,
    logSlowMs: c.logSlow,
    logLevel: c.logLevel,
    logFormat: c.logFormat,
    logto: given(c.logto) ? resolve(cwd, c.logto!) : undefined,
    stats: stats ? {
      address: stats.includes('/') ? resolve(cwd, stats) : stats,
      http: c.statsHttp,
      minified: c.statsMinified,
      public: c.statsPublic,
    } : undefined,
    shm: {
      caches: parsed.cache2.map((spec) => (spec.store ? { ...spec, store: resolve(cwd, spec.store) } : spec)),
      locks: c.locks,
      counters: { max: c.countersMax, declared: c.counter },
    },
    background: backgroundSettings(c, parsed, muleModules.map((m) => m?.path ?? '')),
    processRecycle: {
      rssBytes: c.reloadOnProcessRss !== undefined ? c.reloadOnProcessRss * MB : defaultProcessRssBytes(),
      rssDefault: c.reloadOnProcessRss === undefined,
      lifetimeMs: ms(c.maxProcessLifetime),
      timeoutMs: ms(c.fullReloadTimeout),
      touchReload: c.touchReload.map((p) => resolve(cwd, p)),
      touchChainReload: c.touchChainReload.map((p) => resolve(cwd, p)),
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
function processNames(c: SpindleConfig): ServerSettings['names'] {
  const spaced = given(c.procnamePrefixSpaced);
  const prefix = given(c.procnamePrefix) ?? (spaced ? `${spaced} ` : '');
  const append = given(c.procnameAppend) ?? '';
  const every = given(c.procname);
  const master = given(c.procnameMaster);
  const auto = c.autoProcname || Boolean(prefix || append || every || master);
  const wrap = (name: string) => `${prefix}${name}${append}`;
  const worker = (id: number) => wrap(every ?? `spindle worker ${id}`);
  return {
    master: auto ? wrap(master ?? every ?? 'spindle master') : '',
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
function cheaperOptions(c: SpindleConfig): CheaperOptions | null {
  if (c.cheaper <= 0) return null;
  return {
    algo: c.cheaperAlgo,
    min: c.cheaper,
    processes: c.processes,
    initial: c.cheaperInitial!, // set whenever cheaper is: the table derives it from cheaper
    step: c.cheaperStep,
    overload: c.cheaperOverload,
    checkIntervalMs: 1000,
    busyness: {
      min: c.cheaperBusynessMin,
      max: c.cheaperBusynessMax,
      multiplier: c.cheaperBusynessMultiplier,
      penalty: c.cheaperBusynessPenalty,
      backlogAlert: c.cheaperBusynessBacklogAlert,
      backlogStep: c.cheaperBusynessBacklogStep,
      backlogMultiplier: c.cheaperBusynessBacklogMultiplier,
      backlogNonzeroMs: ms(c.cheaperBusynessBacklogNonzero),
      verbose: c.cheaperBusynessVerbose,
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

/** `programs`: the `mule` lines' modules, resolved ('' = a generic mule). */
function backgroundSettings(c: SpindleConfig, parsed: ParsedConfig, programs: string[]): BackgroundSettings {
  const farms = parsed.farm;
  const mules = [
    ...programs,
    ...new Array<string>(c.mules).fill(''),
  ].map((program, i) => ({ id: i + 1, program, farms: farms.filter((f) => f.mules.includes(i + 1)).map((f) => f.name) }));
  return {
    mules,
    farms,
    muleHarakiriMs: ms(c.muleHarakiri),
    muleQueue: c.muleMsgQueue,
    signalTimers: parsed.timer,
    commandCrons: [...parsed.cron, ...parsed.uniqueCron, ...parsed.cron2],
    cronHarakiriMs: ms(c.cronHarakiri),
    offloadThreads: c.offloadThreads,
  };
}
