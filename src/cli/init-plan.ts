// `spindle init`'s sizing and the ini file it writes. Pure functions of the machine and of the app's
// measured start-up, so that they can be tested without either.

export interface Machine {
  cpus: number;
  /** total memory, or the cgroup limit when lower (bytes) */
  memoryBytes: number;
  /** net.core.somaxconn, when readable */
  somaxconn?: number;
}

export interface StartUp {
  ms: number;
  heapBytes: number;
  /** what load-app.ts found, e.g. 'default export: Express app' */
  kind: string;
}

export interface Plan {
  processes: number;
  heapLimitMb: number;
  reloadOnRssMb: number;
  harakiriS: number;
  minLifetimeS: number;
  maxLifetimeS: number;
  lifetimeDeltaS: number;
  fullReloadTimeoutS: number;
  listen: number;
}

const MB = 1024 * 1024;
/** Share of the memory the workers' heaps may use together; the rest is the master, native memory and the OS. */
const HEAP_SHARE = 0.75;

export function plan(machine: Machine, start: StartUp | undefined): Plan {
  const memoryMb = Math.floor(machine.memoryBytes / MB);
  const budgetMb = Math.floor(memoryMb * HEAP_SHARE);
  const startHeapMb = start ? Math.ceil(start.heapBytes / MB) : 0;
  // a worker needs room beyond what loading the app took: at least 128 MB, and 4x its start-up heap
  const needMb = Math.max(128, startHeapMb * 4);
  const processes = Math.max(1, Math.min(machine.cpus, Math.floor(budgetMb / needMb)));
  const heapLimitMb = Math.max(needMb, Math.min(4096, Math.floor(budgetMb / processes / 16) * 16));
  const startS = start ? start.ms / 1000 : 1;
  // recycling must cost little next to a worker's life: it lives at least 10 start-ups
  const minLifetimeS = Math.max(10, Math.ceil(startS * 10));
  const maxLifetimeS = Math.max(3600, minLifetimeS * 6);
  return {
    processes,
    heapLimitMb,
    reloadOnRssMb: Math.floor(heapLimitMb * 0.75),
    harakiriS: 60,
    minLifetimeS,
    maxLifetimeS,
    // staggered so that the workers are not all replaced in the same minute
    lifetimeDeltaS: processes > 1 ? Math.min(60, Math.floor(600 / processes)) : 0,
    // a full reload loads the app in every worker of the new process before it takes over
    fullReloadTimeoutS: Math.max(60, Math.ceil(startS * 3) + 30),
    listen: Math.min(1024, machine.somaxconn ?? 1024),
  };
}

const gb = (bytes: number) => `${(bytes / 1024 ** 3).toFixed(1)} GB`;

/** The commented ini file. `app` is relative to the file's directory (where it is written). */
export function renderIni(opts: { app: string; found: string; machine: Machine; start?: StartUp; plan: Plan; date: string }): string {
  const { app, found, machine, start, plan: p } = opts;
  const measured = start
    ? `${Math.round(start.ms)} ms and ${Math.ceil(start.heapBytes / MB)} MB of heap to load in one worker (${start.kind})`
    : 'not measured (--no-measure)';
  return `; Spindle configuration for ${app}, written by \`spindle init\` on ${opts.date}.
;   machine: ${machine.cpus} CPUs, ${gb(machine.memoryBytes)} of memory
;   the app: ${measured}
; Check it with \`spindle check --ini spindle.ini\` (every value and its source), serve with
; \`spindle --ini spindle.ini\`. Sizes and durations take units (60s, 500ms, 512MB, 2G).
[spindle]

; The app: ${found}.
app = ${app}

; Where to listen. Behind nginx keep it on loopback, or use a UNIX socket (http-socket =
; /run/myapp/spindle.sock with chmod-socket = 660 and chown-socket = myapp:www-data), or the
; uwsgi protocol for an unchanged nginx uwsgi_pass (uwsgi-socket = ...).
http-socket = 127.0.0.1:8000
; The kernel's accept queue per socket${machine.somaxconn !== undefined ? ` (net.core.somaxconn is ${machine.somaxconn} here; a larger listen is cut to it)` : ''}.
listen = ${p.listen}

; One worker thread per CPU${p.processes < machine.cpus ? `, fewer here: ${machine.cpus} workers would not fit their heaps in memory` : ''}.
processes = ${p.processes}

; Memory. The workers' heaps may use ${Math.round(HEAP_SHARE * 100)}% of the memory together; each is capped by
; worker-heap-limit (a runaway worker dies alone) and recycled, after its current request, when
; its heap passes reload-on-rss (3/4 of the cap).
worker-heap-limit = ${p.heapLimitMb}MB
reload-on-rss = ${p.reloadOnRssMb}MB

; A request running longer than this is answered 504, and a worker stuck in synchronous code is
; terminated and replaced. Raise it for slow endpoints (reports, uploads) rather than turning it off.
harakiri = ${p.harakiriS}s

; Recycling bounds slow leaks: a worker is replaced after max-worker-lifetime (plus id x delta, so
; they are not all replaced together), never before min-worker-lifetime (${p.minLifetimeS > 10 ? 'ten start-ups of this app' : 'the default'}).
max-worker-lifetime = ${p.maxLifetimeS}s
max-worker-lifetime-delta = ${p.lifetimeDeltaS}s
min-worker-lifetime = ${p.minLifetimeS}s

; Reloads: a stopping worker gets worker-reload-mercy to finish its requests; a full reload
; (SIGUSR2, spindle reload --full) waits full-reload-timeout for the new process to load the app.
worker-reload-mercy = 60s
full-reload-timeout = ${p.fullReloadTimeoutS}s

; Monitoring: uncomment for the stats server (spindle top, /metrics, /health/ready).
;stats = 127.0.0.1:9191
;stats-http = true

; For a service manager that needs it:
;pidfile = /run/myapp/spindle.pid
;logto = /var/log/myapp/spindle.log
`;
}
