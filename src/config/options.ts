// THE option table: the single source of truth for parsing (ini, env, flags, start() object),
// defaults, validation, `spindle --help`, `spindle check` and the README option reference.
//
// One entry per option. An option whose feature lands changes its `status` from 'not-yet' to
// 'supported' and gains its use in ServerSettings (src/master/settings.ts) and the room that
// implements it; then `node scripts/gen-readme.mjs` (after `npx tsc -p .`) refreshes the README.
// The loaded configuration is typed by this table (SpindleConfig, ParsedConfig below), so the
// master reads the values with their defaults applied and restates none.
//
// Fields:
//   name      uWSGI-style dashed name (ini key; `--name` flag; SPINDLE_NAME env; camelCase in SpindleConfig)
//   type      value type, see OptionType below; `repeat: true` makes the option a list (ini key / flag repeated)
//   default   built-in default (absent = unset, i.e. `undefined` in SpindleConfig); `defaultDoc` documents a
//             computed default
//   aliases   other accepted names (everywhere); one-letter aliases are also `-x` short flags
//   uwsgi     the uWSGI option this mirrors when the name differs; `false` = Spindle-only
//   uwsgiDefault / guide / why
//             uWSGI 2.0's default when Spindle's differs, the production guide's value, and the reason
//             (these feed the README's "Defaults, and why" table)
//   status    'supported' | 'python-only' (accepted, noted as not needed on Node) | 'not-yet' (known, refused
//             with CONFIG_NOT_SUPPORTED when set to a non-default value)
//   check     optional semantic validation hook: (value) => error text | undefined
//   parse     optional parser of the option's structured value (a cron schedule, a cache spec, an owner's
//             ids): runs once at load time, its error (thrown) is the option's error, its result is in
//             LoadedConfig.parsed (typed as ParsedConfig)
//   derive    a default computed from another option, used when this one is not set: `from` names the
//             option it follows, `value` computes it from the resolved configuration (undefined = keep
//             the plain default); `defaultDoc` says it in words
import { availableParallelism } from 'node:os';
import { parseCache2 } from './cache2.js';
import { parseCronLine, parseCron2Line, parseFarm, parseTimerLine } from './cron.js';
import { resolveOwner } from './owner.js';

export type OptionType =
  | 'bool' // true/false/1/0/yes/no/on/off
  | 'integer' // whole number
  | 'seconds' // number of seconds, decimals allowed (0.5), non-negative
  | 'milliseconds' // whole number of milliseconds
  | 'size' // bytes; accepts 4096, 64k, 10M, 1G (binary multiples)
  | 'megabytes' // whole number of MiB
  | 'string'
  | 'path' // a file system path (non-empty string)
  | 'address' // host:port, :port, [::1]:port, or a UNIX socket path containing '/'
  | 'mode' // octal file mode such as 660
  | 'enum' // one of `choices`
  | 'keyvalue' // KEY=VALUE (environment variable)
  | 'kvlist'; // uWSGI key=value,key=value list → Record<string,string>

export type OptionStatus = 'supported' | 'python-only' | 'not-yet';

export const SECTIONS = {
  general: 'General',
  sockets: 'Sockets and HTTP',
  lifecycle: 'Lifecycle',
  workers: 'Workers and harakiri',
  recycling: 'Worker recycling',
  cheaper: 'Cheaper (adaptive worker count)',
  procname: 'Process names',
  logging: 'Logging',
  shm: 'Shared memory: caches, locks, counters',
  stats: 'Stats server',
  mules: 'Mules and farms',
  timers: 'Timers, crons and touch files',
  misc: 'Offloading and privileges',
  python: 'Python-only uWSGI options (accepted, not needed on Node)',
} as const;
export type SectionId = keyof typeof SECTIONS;

export interface OptionSpec {
  readonly name: string;
  readonly type: OptionType;
  readonly section: SectionId;
  readonly status: OptionStatus;
  readonly help: string;
  readonly default?: unknown;
  readonly defaultDoc?: string;
  readonly repeat?: boolean;
  readonly aliases?: readonly string[];
  readonly choices?: readonly string[];
  readonly min?: number;
  readonly max?: number;
  readonly uwsgi?: string | false;
  readonly uwsgiDefault?: string;
  readonly guide?: string;
  readonly why?: string;
  /** for python-only options: why Node does not need it */
  readonly reason?: string;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  readonly check?: (value: any) => string | undefined;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  readonly parse?: (value: any) => unknown;
  readonly derive?: { readonly from: string; readonly value: (config: Readonly<Record<string, unknown>>) => unknown };
}

const CPUS = availableParallelism();

/**
 * A recycling threshold that fires before the heap limit kills the worker: `plain`, or 3/4 of a
 * smaller worker-heap-limit (so that `worker-heap-limit = 256` alone is a working configuration).
 */
function reloadBelowHeapLimit(heapLimitMb: number, plain: number): number {
  return heapLimitMb > 0 ? Math.min(plain, Math.floor(heapLimitMb * 0.75)) : plain;
}

export const OPTIONS = [
  // ── general ────────────────────────────────────────────────────────────────────────────────
  { name: 'ini', type: 'path', repeat: true, section: 'general', status: 'supported',
    help: 'read options from this ini file ([spindle] and [uwsgi] sections); later files win' },
  { name: 'strict', type: 'bool', default: true, section: 'general', status: 'supported',
    uwsgiDefault: 'false', guide: 'true',
    why: 'a typo must stop the server, not be silently ignored; strict=false turns unknown keys into warnings',
    help: 'refuse unknown option names (false: warn instead)' },
  { name: 'master', type: 'bool', default: true, section: 'general', status: 'supported',
    uwsgiDefault: 'false', guide: 'true',
    why: 'Spindle always runs a master thread (it owns the sockets and supervises the workers); false is an error',
    help: 'always on: Spindle always has a master (accepted for uWSGI compatibility)' },
  { name: 'app', type: 'string', aliases: ['module', 'wsgi', 'wsgi-file', 'file'], section: 'general', status: 'supported', uwsgi: 'module',
    check: (v: string) => (/\.py$/.test(v) ? 'a Python file: Spindle serves Node.js modules; point it at the JavaScript or TypeScript entry of your app (e.g. app.js, or myapp:app)' : undefined),
    help: "the application module to serve (also the positional APP argument): a file (app.js), or uWSGI's module form myapp:app (./myapp.js, .mjs, .cjs or .ts, its export app; dots are directories: pkg.web:app is ./pkg/web.js)" },
  { name: 'callable', type: 'string', section: 'general', status: 'supported',
    defaultDoc: 'unset (the default export, else a fetch export, else an app export)',
    help: "the export of the app module to serve (as uWSGI's callable; module = myapp:NAME sets it too)" },
  { name: 'chdir', type: 'path', section: 'general', status: 'supported',
    help: 'change to this directory before loading the app' },
  { name: 'env', type: 'keyvalue', repeat: true, section: 'general', status: 'supported',
    help: 'set an environment variable KEY=VALUE for the app' },

  // ── sockets ────────────────────────────────────────────────────────────────────────────────
  { name: 'http-socket', type: 'address', repeat: true, aliases: ['http', 'http11-socket'], section: 'sockets',
    status: 'supported', defaultDoc: 'none (listens on 127.0.0.1:8000 and says so)',
    help: 'serve HTTP/1.1 on this address (host:port, :port, [::1]:port or a UNIX path)' },
  { name: 'uwsgi-socket', type: 'address', repeat: true, aliases: ['socket'], section: 'sockets', status: 'supported',
    help: "serve the uwsgi protocol (nginx uwsgi_pass) on this address; ':port' means 127.0.0.1 here (unlike http-socket); UWSGI_* request variables are never honoured" },
  { name: 'chmod-socket', type: 'mode', aliases: ['chmod'], section: 'sockets', status: 'supported',
    help: 'file mode of UNIX sockets, octal (e.g. 660)' },
  { name: 'chown-socket', type: 'string', section: 'sockets', status: 'supported', parse: resolveOwner,
    help: 'owner of UNIX sockets: user[:group] or :group (names or numeric ids; changing the user needs root), so that nginx running as another user can connect (with chmod-socket = 660)' },
  { name: 'pidfile', type: 'path', aliases: ['pidfile2', 'safe-pidfile', 'safe-pidfile2'], section: 'sockets', status: 'supported',
    help: 'write the master pid to this file' },
  { name: 'listen', type: 'integer', default: 1024, min: 1, max: 65535, section: 'sockets', status: 'supported',
    uwsgiDefault: '100',
    why: "1024 absorbs connection bursts and matches Linux's somaxconn default (uWSGI's 100 overflows under a burst)",
    help: "the kernel's accept queue of every listening socket" },
  { name: 'buffer-size', type: 'size', default: 16384, defaultDoc: '16k', min: 1024, max: 1048576,
    section: 'sockets', status: 'supported', uwsgiDefault: '4096',
    why: "Node's default maximum header size is 16 KiB; 4 KiB rejects ordinary requests with large cookies",
    help: 'maximum size of a request head (request line and headers)' },
  { name: 'limit-post', type: 'size', default: 16777216, defaultDoc: '16M', min: 0, section: 'sockets',
    status: 'supported', uwsgiDefault: '0 (unlimited)',
    why: 'an unlimited body lets one client fill the memory; 16M is safe for APIs, 0 restores unlimited',
    help: 'maximum request body size, answered with 413 when exceeded (0 = unlimited)' },
  { name: 'socket-timeout', type: 'seconds', default: 10, min: 1, section: 'sockets', status: 'supported',
    aliases: ['http-timeout'],
    uwsgiDefault: '4s',
    why: 'a worker waits on a slow client without blocking (its event loop serves the other requests meanwhile), so a longer wait costs a socket, not a worker',
    help: 'timeout of each wait on a client socket (head, body, response write)' },
  { name: 'request-read-timeout', type: 'seconds', default: 60, min: 0, section: 'sockets', status: 'supported', uwsgi: false,
    why: 'socket-timeout bounds each wait, so a client that sends one byte a second is never idle: this bounds the whole read',
    help: 'time a client has to send a whole request, head and body, from its first byte (answered 408 and closed past it; raise it for slow large uploads; 0 = no overall limit). Never less than socket-timeout, which also bounds the head alone' },

  // ── lifecycle ──────────────────────────────────────────────────────────────────────────────
  { name: 'die-on-term', type: 'bool', default: true, section: 'lifecycle', status: 'supported',
    uwsgiDefault: 'false', guide: 'true',
    why: 'SIGTERM means stop for every container runtime and process manager (uWSGI 2.1 agrees)',
    help: 'shut down (gracefully) on SIGTERM instead of reloading' },
  { name: 'supervise', type: 'bool', default: true, section: 'lifecycle', status: 'supported', uwsgi: false,
    why: 'a segfault, abort or OOM kill ends the whole server process at once (master and every worker); the parent keeps the sockets and starts a new server at once, as a uWSGI master respawns a dead worker',
    help: "the spindle command runs the server under a small supervising parent that holds the listening sockets and starts a new server process at once if it dies abnormally (signal, crash), with back-off on a crash loop; it forwards signals, the pidfile names it, and in a container it is PID 1. false: run the server as the only process (a process manager restarts it; connections are refused meanwhile). start() never supervises" },
  { name: 'need-app', type: 'bool', default: true, section: 'lifecycle', status: 'supported',
    uwsgiDefault: 'false', guide: 'true',
    why: 'a server without its app should fail at start-up (exit 22), not answer 500 forever (uWSGI 2.1 agrees)',
    help: 'exit with status 22 when the app cannot be loaded' },
  { name: 'vacuum', type: 'bool', default: true, section: 'lifecycle', status: 'supported',
    uwsgiDefault: 'false', guide: 'true',
    why: 'stale UNIX sockets and pidfiles break the next start',
    help: 'remove UNIX sockets and the pidfile at exit' },
  { name: 'worker-reload-mercy', type: 'seconds', default: 60, min: 0, section: 'lifecycle', status: 'supported',
    guide: '60', help: 'how long a stopping worker may finish its requests before it is terminated' },
  { name: 'master-fifo', type: 'path', section: 'lifecycle', status: 'supported',
    help: 'create this FIFO and read one-byte commands from it: + / - (one worker more / fewer, with cheaper), r or c (chain reload), q (graceful shutdown), Q (quick shutdown)' },

  // ── workers and harakiri ───────────────────────────────────────────────────────────────────
  { name: 'processes', type: 'integer', default: CPUS, defaultDoc: 'number of CPUs (os.availableParallelism())',
    min: 1, max: 1024, aliases: ['workers', 'p'], section: 'workers', status: 'supported', uwsgiDefault: '1',
    guide: '128',
    why: 'one worker thread per CPU uses the machine; with cheaper it is the maximum',
    help: 'number of worker threads (the maximum when cheaper is on)' },
  { name: 'concurrency', type: 'integer', default: 0, defaultDoc: '0 (no cap)', min: 0, max: 10000, aliases: ['threads', 'async'],
    section: 'workers', status: 'supported', uwsgi: 'threads / async', uwsgiDefault: '1 (one request per process)',
    why: "a Node worker serves many requests at once on its event loop, as node:http does; one at a time is a sync-Python habit that makes awaited I/O queue behind other requests",
    help: "cap on the requests one worker runs at once (0 = no cap, as node:http). At the cap the worker starts no further request until one finishes: set it for CPU-bound handlers or a memory budget per request" },
  { name: 'harakiri', type: 'seconds', default: 60, min: 0, section: 'workers', status: 'supported',
    uwsgiDefault: '0 (off)', guide: '60',
    why: 'a stuck request must not hold a worker forever; the guide\'s 60 s (0 = off)',
    help: 'a request running longer than this is answered 504 and aborted by its worker; a worker too stuck to do that (its event loop blocked) is terminated and replaced (0 = off)' },
  { name: 'harakiri-verbose', type: 'bool', default: false, section: 'workers', status: 'supported',
    help: "before terminating a harakiri victim, log its JavaScript stack (read through the inspector)" },
  { name: 'harakiri-graceful-timeout', type: 'seconds', default: 0, min: 0, section: 'workers', status: 'supported',
    help: "on harakiri, first fire the request's AbortSignal and wait this long for the worker to settle before terminating it (0 = terminate at once)" },

  // ── recycling ──────────────────────────────────────────────────────────────────────────────
  { name: 'max-requests', type: 'integer', default: 0, min: 0, section: 'recycling', status: 'supported',
    guide: '1000',
    why: 'a Node worker serves far more requests per second than a Python one and a respawn costs 30-150 ms of JIT warm-up, so request-count recycling is off; use max-worker-lifetime and reload-on-rss',
    help: 'recycle a worker after this many requests, once it has lived min-worker-lifetime (0 = off)' },
  { name: 'max-requests-delta', type: 'integer', default: 0, min: 0, section: 'recycling', status: 'supported',
    help: 'add (worker id - 1) x this to max-requests, to stagger recycling' },
  { name: 'max-worker-lifetime', type: 'seconds', default: 3600, min: 0, section: 'recycling', status: 'supported',
    uwsgiDefault: '0 (off)', guide: '3600',
    why: "the guide's value: recycling hourly bounds slow leaks at negligible cost",
    help: 'recycle a worker after it has lived this long, after its current request (0 = off)' },
  { name: 'max-worker-lifetime-delta', type: 'seconds', default: 0, min: 0, section: 'recycling', status: 'supported',
    help: 'add (worker id - 1) x this to max-worker-lifetime, to stagger recycling' },
  { name: 'min-worker-lifetime', type: 'seconds', default: 10, min: 0, section: 'recycling', status: 'supported',
    help: 'never recycle a worker younger than this (must be lower than max-worker-lifetime)' },
  { name: 'reload-on-rss', type: 'megabytes', default: 2048, min: 0, section: 'recycling', status: 'supported',
    defaultDoc: '2048MB, or 3/4 of a worker-heap-limit below 2731MB',
    derive: { from: 'worker-heap-limit', value: (c) => reloadBelowHeapLimit(c.workerHeapLimit as number, 2048) },
    uwsgiDefault: '0 (off)', guide: '2048',
    why: "the guide's value; on Node it measures the worker's own memory, its V8 heap plus the Buffers and other external memory of its isolate (process RSS is shared by all threads)",
    help: "recycle a worker whose memory (V8 heap + Buffers/ArrayBuffers, per worker) exceeds this many MB, after its current request (0 = off)" },
  { name: 'evil-reload-on-rss', type: 'megabytes', default: 0, min: 0, section: 'recycling', status: 'supported',
    help: 'terminate a worker at once when its memory (V8 heap + Buffers/ArrayBuffers) exceeds this many MB, dropping its requests (0 = off)' },
  { name: 'reload-on-process-rss', type: 'megabytes', min: 0, section: 'recycling', status: 'supported',
    uwsgi: false, defaultDoc: "80% of the machine's memory (or of the cgroup memory limit when lower)",
    why: 'memory held outside any one worker (native addons, many workers growing at once) is otherwise bounded only by the OOM killer, which ends every worker at once',
    help: "full reload (a new process takes over the sockets; no request fails) when the whole process's RSS exceeds this many MB, checked every second (0 = off). reload-on-rss looks at one worker's own memory; this counts everything the process holds: every heap, native and Buffer memory, fragmentation" },
  { name: 'max-process-lifetime', type: 'seconds', default: 0, min: 0, section: 'recycling', status: 'supported',
    uwsgi: false,
    help: 'full reload (a new process takes over the sockets) after the process has served this long (0 = off); max-worker-lifetime recycles single worker threads' },
  { name: 'full-reload-timeout', type: 'seconds', default: 60, min: 1, section: 'lifecycle', status: 'supported',
    uwsgi: false,
    help: 'how long a full reload waits for the new process to load the app and take the sockets; past it the new process is killed and the old one keeps serving' },
  { name: 'worker-heap-limit', type: 'megabytes', default: 4096, min: 0, section: 'recycling', status: 'supported',
    uwsgi: false,
    why: 'Spindle-only: a V8 resourceLimits cap makes a runaway worker die alone instead of taking the process down',
    help: 'V8 old-generation limit per worker in MB (0 = V8 default)' },

  // ── cheaper ────────────────────────────────────────────────────────────────────────────────
  { name: 'cheaper', type: 'integer', default: 0, min: 0, section: 'cheaper', status: 'supported', guide: '8',
    why: 'scaling is opt-in, as in uWSGI: a fixed pool is the predictable default; the guide\'s 8 goes with its 128 processes',
    help: 'minimum number of workers; enables adaptive scaling (0 = off; must be lower than processes)' },
  { name: 'cheaper-initial', type: 'integer', min: 0, section: 'cheaper', status: 'supported',
    defaultDoc: 'cheaper', guide: '16',
    derive: { from: 'cheaper', value: (c) => ((c.cheaper as number) > 0 ? c.cheaper : undefined) },
    why: 'as in uWSGI, unset means cheaper; out of cheaper..processes is an error where uWSGI clamps silently',
    help: 'workers started at boot (between cheaper and processes)' },
  { name: 'cheaper-step', type: 'integer', default: 1, min: 1, section: 'cheaper', status: 'supported', guide: '16',
    why: "uWSGI's default; the guide's value is tuned to its 8..128-worker scaling example, set it together with cheaper",
    help: 'workers to spawn at a time when scaling up' },
  { name: 'cheaper-overload', type: 'seconds', default: 3, min: 1, section: 'cheaper', status: 'supported',
    guide: '1', why: "uWSGI's default; the guide's value is tuned to its 8..128-worker scaling example, set it together with cheaper",
    help: 'length of a busyness measuring window in seconds' },
  { name: 'cheaper-algo', type: 'enum', choices: ['busyness', 'spare', 'backlog', 'manual'], default: 'busyness',
    section: 'cheaper', status: 'supported', uwsgiDefault: 'spare', guide: 'busyness',
    why: 'busyness (the guide\'s choice) scales on measured load instead of on "all workers busy" samples',
    help: 'scaling algorithm' },
  { name: 'cheaper-busyness-min', type: 'integer', default: 25, min: 0, max: 100, section: 'cheaper',
    status: 'supported', guide: '20', why: "uWSGI's default; the guide's value is tuned to its 8..128-worker scaling example, set it together with cheaper",
    help: 'average busyness (%) below which a worker is stopped' },
  { name: 'cheaper-busyness-max', type: 'integer', default: 50, min: 0, max: 100, section: 'cheaper',
    status: 'supported', guide: '70', why: "uWSGI's default; the guide's value is tuned to its 8..128-worker scaling example, set it together with cheaper",
    help: 'average busyness (%) above which workers are spawned' },
  { name: 'cheaper-busyness-multiplier', type: 'integer', default: 10, min: 1, section: 'cheaper',
    status: 'supported', guide: '30', why: "uWSGI's default; the guide's value is tuned to its 8..128-worker scaling example, set it together with cheaper",
    help: 'idle windows to wait before stopping a worker' },
  { name: 'cheaper-busyness-penalty', type: 'integer', default: 2, min: 0, section: 'cheaper', status: 'supported',
    help: 'added to the multiplier when workers were respawned too fast' },
  { name: 'cheaper-busyness-verbose', type: 'bool', default: false, section: 'cheaper', status: 'supported',
    help: 'log every cheaper check with the numbers behind it (busyness per window, waits, backlog; all algorithms)' },
  { name: 'cheaper-busyness-backlog-alert', type: 'integer', default: 33, min: 0, section: 'cheaper',
    status: 'supported', guide: '16', why: "uWSGI's default; the guide's value is tuned to its 8..128-worker scaling example, set it together with cheaper",
    help: 'spawn emergency workers when more requests than this wait in the backlog' },
  { name: 'cheaper-busyness-backlog-step', type: 'integer', default: 1, min: 1, section: 'cheaper',
    status: 'supported', guide: '2', why: "uWSGI's default; the guide's value is tuned to its 8..128-worker scaling example, set it together with cheaper",
    help: 'emergency workers to spawn at a time' },
  { name: 'cheaper-busyness-backlog-multiplier', type: 'integer', default: 3, min: 1, section: 'cheaper',
    status: 'supported', help: 'multiplier used while emergency workers run' },
  { name: 'cheaper-busyness-backlog-nonzero', type: 'seconds', default: 60, min: 0, section: 'cheaper',
    status: 'supported', help: 'spawn an emergency worker when the backlog has been non-empty this long (0 = off)' },

  // ── process names ──────────────────────────────────────────────────────────────────────────
  { name: 'auto-procname', type: 'bool', default: true, section: 'procname', status: 'supported',
    uwsgiDefault: 'false', guide: 'true',
    why: 'readable names in ps/top cost nothing',
    help: 'name the process and worker threads (spindle master, spindle worker N)' },
  { name: 'procname-prefix', type: 'string', section: 'procname', status: 'supported', guide: '"mysvc "',
    why: 'no prefix unless you name your service; the guide\'s "mysvc " is an example',
    help: 'prefix for every process/thread name' },
  { name: 'procname-prefix-spaced', type: 'string', section: 'procname', status: 'supported',
    help: 'prefix followed by a space' },
  { name: 'procname-append', type: 'string', section: 'procname', status: 'supported',
    help: 'suffix for every process/thread name' },
  { name: 'procname-master', type: 'string', section: 'procname', status: 'supported',
    help: 'name of the master process' },
  { name: 'procname', type: 'string', section: 'procname', status: 'supported',
    help: 'name of every process/thread (prefix and suffix still apply)' },

  // ── logging ────────────────────────────────────────────────────────────────────────────────
  { name: 'disable-logging', type: 'bool', default: true, section: 'logging', status: 'supported',
    uwsgiDefault: 'false', guide: 'true',
    why: 'a log line per request is expensive and noisy; errors are still logged (log-4xx, log-5xx)',
    help: 'no request log line, except what log-4xx / log-5xx / log-slow force' },
  { name: 'log-4xx', type: 'bool', default: true, section: 'logging', status: 'supported', uwsgiDefault: 'false',
    guide: 'true', why: 'client errors are worth a line even when request logging is off',
    help: 'log requests answered 400-499' },
  { name: 'log-5xx', type: 'bool', default: true, section: 'logging', status: 'supported', uwsgiDefault: 'false',
    guide: 'true', why: 'server errors are always worth a line',
    help: 'log requests answered 500-599' },
  { name: 'log-slow', type: 'milliseconds', default: 0, min: 0, section: 'logging', status: 'supported',
    help: 'log requests slower than this many milliseconds (0 = off)' },
  { name: 'log-level', type: 'enum', choices: ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'],
    default: 'info', section: 'logging', status: 'supported', uwsgi: false, help: 'minimum level of log lines' },
  { name: 'logto', type: 'path', aliases: ['logto2'], section: 'logging', status: 'supported',
    check: (v: string) => (/^[^/]*:\d+$/.test(v) ? 'logging to a UDP address is not supported; give a file path, or log to stdout and let systemd/docker/syslog collect it' : undefined),
    help: "append every log line (Spindle's and, under the spindle command, the app's console output) to this file instead of stdout; json lines unless log-format = pretty; rotate it with logrotate's copytruncate" },
  { name: 'log-format', type: 'enum', choices: ['json', 'pretty', 'auto'], default: 'auto', section: 'logging',
    status: 'supported', uwsgi: false,
    help: "json lines, human-readable, or auto (pretty on a TTY); not uWSGI's %(var) template" },

  // ── shared memory ──────────────────────────────────────────────────────────────────────────
  { name: 'cache2', type: 'kvlist', repeat: true, section: 'shm', status: 'supported', parse: parseCache2,
    help: 'create a shared cache: name=NAME,items=N[,blocksize=B,keysize=K,...]' },
  { name: 'locks', type: 'integer', default: 0, min: 0, max: 65535, section: 'shm', status: 'supported',
    help: 'number of extra user locks (locks 0..N exist)' },
  { name: 'counter', type: 'string', repeat: true, section: 'shm', status: 'supported', uwsgi: false,
    help: 'declare a named shared atomic counter' },
  { name: 'counters-max', type: 'integer', default: 256, min: 1, max: 65536, section: 'shm', status: 'supported',
    uwsgi: false, help: 'capacity of the shared counter table' },

  // ── stats ──────────────────────────────────────────────────────────────────────────────────
  { name: 'stats', type: 'address', aliases: ['stats-server'], section: 'stats', status: 'supported',
    help: 'serve the stats JSON (uwsgitop-compatible, one document per connection) on this address; loopback or a UNIX path unless stats-public' },
  { name: 'stats-http', type: 'bool', default: false, section: 'stats', status: 'supported',
    help: 'speak HTTP on the stats address: / (the JSON), /metrics (Prometheus), /health/live, /health/ready' },
  { name: 'stats-minified', type: 'bool', default: false, aliases: ['stats-min'], section: 'stats',
    status: 'supported', help: 'no indentation in the stats JSON' },
  { name: 'stats-public', type: 'bool', default: false, section: 'stats', status: 'supported', uwsgi: false,
    why: 'the stats show the paths being requested and the server\'s internals; uWSGI binds wherever it is told, Spindle needs this to leave loopback',
    help: 'allow the stats server on a non-loopback address (:port, 0.0.0.0, a LAN address or host name)' },

  // ── mules ──────────────────────────────────────────────────────────────────────────────────
  { name: 'mule', type: 'string', repeat: true, section: 'mules', status: 'supported',
    help: 'add a mule running this module (its default export gets an async iterator of messages; empty = a generic mule)' },
  { name: 'mules', type: 'integer', default: 0, min: 0, max: 256, section: 'mules', status: 'supported',
    help: 'add this many generic mules (they run mulefunc calls, handlers and onMuleMessage())' },
  { name: 'farm', type: 'string', repeat: true, section: 'mules', status: 'supported', parse: parseFarm,
    help: 'group mules: NAME:1,2,...' },
  { name: 'mule-harakiri', type: 'seconds', default: 0, min: 0, section: 'mules', status: 'supported',
    help: 'terminate (and respawn) a mule that handles one message or handler run longer than this (0 = off)' },
  { name: 'mule-msg-queue', type: 'integer', default: 1024, min: 1, section: 'mules', status: 'supported',
    uwsgi: false, help: 'messages each mule queue holds before muleMsg() resolves false (uWSGI bounds bytes with mule-msg-size)' },

  // ── timers ─────────────────────────────────────────────────────────────────────────────────
  { name: 'timer', type: 'string', repeat: true, aliases: ['signal-timer', 'rbtimer', 'signal-rbtimer'], section: 'timers', status: 'supported', parse: parseTimerLine,
    help: 'raise a signal periodically: "SIGNUM SECONDS"' },
  { name: 'cron', type: 'string', repeat: true, section: 'timers', status: 'supported', parse: (line: string) => parseCronLine(line),
    help: 'run a command: "M H D MON W command" (-1 = every, -N = every Nth)' },
  { name: 'cron2', type: 'string', repeat: true, section: 'timers', status: 'supported', parse: parseCron2Line,
    help: 'run a command: "minute=..,hour=..,unique=1,harakiri=N command"' },
  { name: 'unique-cron', type: 'string', repeat: true, section: 'timers', status: 'supported', parse: (line: string) => parseCronLine(line, true),
    help: 'like cron, but skipped while the previous run is still alive' },
  { name: 'cron-harakiri', type: 'seconds', default: 0, min: 0, section: 'timers', status: 'supported',
    help: 'kill cron commands (their process group) that run longer than this (0 = off)' },
  { name: 'touch-reload', type: 'path', repeat: true, section: 'timers', status: 'supported',
    help: "full reload (a new Spindle process takes over the listening sockets, as uWSGI's re-exec) when this file's modification time changes; checked every second" },
  { name: 'touch-chain-reload', type: 'path', repeat: true, section: 'timers', status: 'supported',
    help: "chain reload (worker threads replaced one at a time, as SIGHUP) when this file's modification time changes; checked every second" },

  // ── misc ───────────────────────────────────────────────────────────────────────────────────
  { name: 'offload-threads', type: 'integer', aliases: ['offload-thread'], default: 2, min: 0, max: 256, section: 'misc', status: 'supported',
    uwsgiDefault: '0', why: "Spindle's offload() is a CPU pool for handlers (uWSGI's offload threads move static files); its threads start on first use",
    help: 'threads of the offload() pool for CPU-heavy work (0 = offload() refuses)' },
  { name: 'uid', type: 'string', section: 'misc', status: 'not-yet', help: 'drop privileges to this user' },
  { name: 'gid', type: 'string', section: 'misc', status: 'not-yet', help: 'drop privileges to this group' },

  // ── python-only ────────────────────────────────────────────────────────────────────────────
  { name: 'enable-threads', type: 'bool', default: false, section: 'python', status: 'python-only',
    guide: 'true', reason: 'it initialises the Python GIL; Node worker threads need nothing',
    help: 'Python GIL initialisation' },
  { name: 'single-interpreter', type: 'bool', default: false, section: 'python', status: 'python-only',
    guide: 'true', reason: 'Python sub-interpreters do not exist on Node; each worker thread loads the app once',
    help: 'one Python interpreter for all apps' },
  { name: 'py-call-osafterfork', type: 'bool', default: false, section: 'python', status: 'python-only',
    guide: 'true (misspelt py-callos-afterfork)',
    reason: 'Spindle does not fork; signal handling stays with the master thread and the app is never forked',
    help: "call Python's after-fork hook in workers" },
  { name: 'lazy-apps', type: 'bool', default: false, section: 'python', status: 'python-only',
    reason: 'every Spindle worker thread already loads the app itself, which is what lazy-apps does',
    help: 'load the app in each worker instead of the master' },
  { name: 'thunder-lock', type: 'bool', default: false, section: 'python', status: 'python-only',
    reason: "every worker polls its own descriptor and libuv yields after each accept (UV_TCP_SINGLE_ACCEPT), and a worker holding more than its share of kept-alive connections hands them back; a lock on accept() would only add a syscall per connection",
    help: 'serialise accept() between workers' },
  { name: 'plugins', type: 'string', repeat: true, aliases: ['plugin'], section: 'python', status: 'python-only',
    reason: 'Spindle has no plugins; the Node runtime is built in',
    help: 'uWSGI plugins to load (e.g. python3)' },
  { name: 'virtualenv', type: 'path', aliases: ['venv', 'home'], section: 'python', status: 'python-only',
    reason: 'a Python virtualenv has no meaning for Node; dependencies come from node_modules',
    help: 'Python virtualenv' },
] as const satisfies readonly OptionSpec[];

// ── types derived from the table ───────────────────────────────────────────────────────────────
type Camel<S extends string> = S extends `${infer H}-${infer T}` ? `${H}${Capitalize<Camel<T>>}` : S;
type NumericType = 'integer' | 'seconds' | 'milliseconds' | 'size' | 'megabytes';
type Entry = (typeof OPTIONS)[number];
type BaseValue<E> = E extends { type: 'bool' } ? boolean
  : E extends { type: 'enum'; choices: readonly (infer C)[] } ? C
  : E extends { type: 'kvlist' } ? Record<string, string>
  : E extends { type: NumericType } ? number
  : string;
type OptionValue<E> = E extends { repeat: true } ? BaseValue<E>[]
  : E extends { default: unknown } ? BaseValue<E>
  : BaseValue<E> | undefined;

/** The resolved configuration: one camelCase key per table entry; repeatable options are arrays. */
export type SpindleConfig = { [E in Entry as Camel<E['name']>]: OptionValue<E> };

type Parser<R> = { parse: (value: never) => R };
type ParsedValue<E> = E extends Parser<infer R> ? (E extends { repeat: true } ? R[] : R | undefined) : never;
/** The results of the options' `parse` hooks, keyed like SpindleConfig (repeatable options: one per line). */
export type ParsedConfig = { [E in Extract<Entry, Parser<unknown>> as Camel<E['name']>]: ParsedValue<E> };
export type OptionName = Entry['name'];
export type ConfigKey = keyof SpindleConfig;

export function camelCase(name: string): string {
  return name.replace(/-([a-z0-9])/g, (_, c: string) => c.toUpperCase());
}

/** 'maxRequests' | 'max_requests' | 'MAX-REQUESTS' → 'max-requests' */
export function normalizeName(name: string): string {
  return name
    .trim()
    .replace(/([a-z0-9])([A-Z])/g, '$1-$2')
    .replace(/_/g, '-')
    .toLowerCase();
}

export const OPTION_LIST: readonly OptionSpec[] = OPTIONS;

const byName = new Map<string, OptionSpec>();
const byCamel = new Map<string, OptionSpec>();
for (const o of OPTION_LIST) {
  for (const n of [o.name, ...(o.aliases ?? [])]) {
    if (byName.has(n)) throw new Error(`option table: duplicate name or alias '${n}'`); // a bug in this table, met at module load by its maintainer
    byName.set(n, o);
    byCamel.set(camelCase(n), o);
  }
}

/** Find an option by its name or an alias: dashed, camelCase or SNAKE_CASE (see normalizeName). */
export function findOption(nameOrAlias: string): OptionSpec | undefined {
  return byName.get(nameOrAlias) ?? byCamel.get(nameOrAlias) ?? byName.get(normalizeName(nameOrAlias));
}

/** Every accepted name: option names and aliases. */
export function allNames(): string[] {
  return [...byName.keys()];
}
