// The cross-option rules of the option table (options.ts): what one option cannot say alone.
import { isLocalOnlyAddress } from './address.js';
import type { ConfigWarning } from './errors.js';
import { checkCache2Names } from './cache2.js';
import { OPTION_LIST, camelCase, type ConfigKey, type OptionName, type SpindleConfig } from './options.js';

// What one option cannot say alone: each rule names the options it relates (the first is the one
// reported) and returns its message(s), or undefined when the combination is fine. 'error' rules are
// configuration problems (the server refuses to start, origin = the reported option's); 'warning'
// rules are settings that are valid but will not do what they seem to. Run in this order.

/** What a rule may ask of the loader about where values came from. */
export interface RuleContext {
  /** ' (guide.ini:3)', or ' (default)': where the option's value came from, for "x = 3 (…)" */
  at(key: ConfigKey): string;
  /** 'guide.ini:3', 'flag --x' or 'default' */
  where(key: ConfigKey): string;
  /** the option was set (by any source), not left to its default */
  explicit(name: OptionName): boolean;
}

/** A finding about another option than the rule's first (one rule covering several options). */
export interface RuleFinding { option: OptionName; message: string }

export type OptionRule = {
  readonly options: readonly OptionName[];
  readonly check: (c: SpindleConfig, ctx: RuleContext) => string | RuleFinding[] | undefined;
} & (
  | { readonly severity: 'error'; readonly code: 'CONFIG_CONFLICT' | 'CONFIG_INVALID_VALUE' }
  | { readonly severity: 'warning'; readonly code: ConfigWarning['code'] }
);

/** log-level choices from the least to the most severe. */
const LOG_LEVELS: readonly string[] = ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'];

/** A warning rule: `option` set by the user does nothing while `idle(c)` holds (a fact of `related`). */
function noEffect(option: OptionName, related: readonly OptionName[], idle: (c: SpindleConfig) => boolean, why: string): OptionRule {
  return { options: [option, ...related], severity: 'warning', code: 'CONFIG_NO_EFFECT',
    check: (c, x) => (x.explicit(option) && idle(c) ? `${option} (${x.where(camelCase(option) as ConfigKey)}) ${why}` : undefined) };
}

export const RULES: readonly OptionRule[] = [
  { options: ['master'], severity: 'error', code: 'CONFIG_INVALID_VALUE',
    check: (c, x) => (c.master === false ? `${x.where('master')}: master = false is not possible: Spindle always runs a master (the main thread owns the sockets and supervises the worker threads); remove the line` : undefined) },
  { options: ['cheaper', 'processes'], severity: 'error', code: 'CONFIG_CONFLICT',
    check: (c, x) => (c.cheaper > 0 && c.cheaper >= c.processes ? `cheaper = ${c.cheaper}${x.at('cheaper')} must be lower than processes = ${c.processes}${x.at('processes')}: cheaper is the minimum and processes the maximum number of workers` : undefined) },
  { options: ['cheaper-initial', 'cheaper', 'processes'], severity: 'error', code: 'CONFIG_CONFLICT',
    check: (c, x) => {
      if (!x.explicit('cheaper-initial') || c.cheaperInitial === undefined) return undefined;
      if (c.cheaper === 0) return `cheaper-initial = ${c.cheaperInitial}${x.at('cheaperInitial')} has no effect without cheaper; set cheaper (the minimum number of workers) or remove it`;
      if (c.cheaperInitial < c.cheaper || c.cheaperInitial > c.processes) return `cheaper-initial = ${c.cheaperInitial}${x.at('cheaperInitial')} must be between cheaper = ${c.cheaper} and processes = ${c.processes} (uWSGI would silently clamp it)`;
      return undefined;
    } },
  { options: ['cheaper-busyness-min', 'cheaper-busyness-max'], severity: 'error', code: 'CONFIG_CONFLICT',
    check: (c, x) => (c.cheaperBusynessMin >= c.cheaperBusynessMax ? `cheaper-busyness-min = ${c.cheaperBusynessMin}${x.at('cheaperBusynessMin')} must be lower than cheaper-busyness-max = ${c.cheaperBusynessMax}${x.at('cheaperBusynessMax')}` : undefined) },
  { options: ['min-worker-lifetime', 'max-worker-lifetime'], severity: 'error', code: 'CONFIG_CONFLICT',
    check: (c, x) => (c.maxWorkerLifetime > 0 && c.minWorkerLifetime >= c.maxWorkerLifetime ? `min-worker-lifetime = ${c.minWorkerLifetime}${x.at('minWorkerLifetime')} must be lower than max-worker-lifetime = ${c.maxWorkerLifetime}${x.at('maxWorkerLifetime')}` : undefined) },
  { options: ['harakiri-graceful-timeout', 'harakiri'], severity: 'error', code: 'CONFIG_CONFLICT',
    check: (c, x) => (c.harakiriGracefulTimeout > 0 && c.harakiri === 0 ? `harakiri-graceful-timeout = ${c.harakiriGracefulTimeout}${x.at('harakiriGracefulTimeout')} has no effect with harakiri = 0${x.at('harakiri')}` : undefined) },
  { options: ['max-requests-delta', 'max-requests'], severity: 'error', code: 'CONFIG_CONFLICT',
    check: (c, x) => (c.maxRequestsDelta > 0 && c.maxRequests === 0 ? `max-requests-delta = ${c.maxRequestsDelta}${x.at('maxRequestsDelta')} has no effect with max-requests = 0${x.at('maxRequests')}` : undefined) },
  { options: ['max-worker-lifetime-delta', 'max-worker-lifetime'], severity: 'error', code: 'CONFIG_CONFLICT',
    check: (c, x) => (c.maxWorkerLifetimeDelta > 0 && c.maxWorkerLifetime === 0 ? `max-worker-lifetime-delta = ${c.maxWorkerLifetimeDelta}${x.at('maxWorkerLifetimeDelta')} has no effect with max-worker-lifetime = 0${x.at('maxWorkerLifetime')}` : undefined) },
  { options: ['reload-on-rss', 'worker-heap-limit'], severity: 'error', code: 'CONFIG_CONFLICT',
    check: (c, x) => (c.reloadOnRss > 0 && c.workerHeapLimit > 0 && c.reloadOnRss >= c.workerHeapLimit ? `reload-on-rss = ${c.reloadOnRss}${x.at('reloadOnRss')} must be lower than worker-heap-limit = ${c.workerHeapLimit}${x.at('workerHeapLimit')}, or the worker dies of the heap limit before it is recycled` : undefined) },
  { options: ['evil-reload-on-rss', 'worker-heap-limit'], severity: 'error', code: 'CONFIG_CONFLICT',
    check: (c, x) => (c.evilReloadOnRss > 0 && c.workerHeapLimit > 0 && c.evilReloadOnRss >= c.workerHeapLimit ? `evil-reload-on-rss = ${c.evilReloadOnRss}${x.at('evilReloadOnRss')} must be lower than worker-heap-limit = ${c.workerHeapLimit}${x.at('workerHeapLimit')}` : undefined) },
  { options: ['counter', 'counters-max'], severity: 'error', code: 'CONFIG_CONFLICT',
    check: (c, x) => (c.counter.length > c.countersMax ? `${c.counter.length} counters are declared${x.at('counter')} but counters-max = ${c.countersMax}${x.at('countersMax')}` : undefined) },
  { options: ['cache2'], severity: 'error', code: 'CONFIG_INVALID_VALUE',
    check: (c, x) => {
      const dup = checkCache2Names(c.cache2);
      return dup ? `${x.where('cache2')}: ${dup}` : undefined;
    } },
  { options: ['cheaper'], severity: 'warning', code: 'CONFIG_NO_EFFECT',
    check: (c, x) => (c.cheaper !== 0 ? undefined : OPTION_LIST
      .filter((o) => o.name.startsWith('cheaper-') && o.name !== 'cheaper-initial' && x.explicit(o.name as OptionName))
      .map((o) => ({ option: o.name as OptionName, message: `${o.name} (${x.where(camelCase(o.name) as ConfigKey)}) has no effect while cheaper = 0` }))) },
  ...(['chmod-socket', 'chown-socket'] as const).map((k) => noEffect(k, ['http-socket', 'uwsgi-socket'],
    (c) => ![...c.httpSocket, ...c.uwsgiSocket].some((a) => a.includes('/')), 'has no effect: no UNIX socket is configured')),
  { options: ['stats', 'stats-public'], severity: 'error', code: 'CONFIG_CONFLICT',
    check: (c, x) => (c.stats !== undefined && !c.statsPublic && !isLocalOnlyAddress(c.stats) ? `stats = ${c.stats}${x.at('stats')} is not a loopback address or UNIX path: the stats show request URLs, headers and internals to anyone who connects; bind it to 127.0.0.1:PORT, or set stats-public = true to expose it on purpose` : undefined) },
  ...(['stats-http', 'stats-minified', 'stats-public'] as const).map((k) => noEffect(k, ['stats'],
    (c) => c.stats === undefined, 'has no effect without stats')),
  // request lines are logged at warn (4xx), error (5xx) and info (the rest, log-slow)
  { options: ['log-level', 'log-4xx', 'log-5xx', 'log-slow', 'disable-logging'], severity: 'warning', code: 'CONFIG_LOG_LEVEL_HIDES',
    check: (c, x) => {
      const level = LOG_LEVELS.indexOf(c.logLevel);
      const hidden = [
        c.log4xx && level > LOG_LEVELS.indexOf('warn') ? 'log-4xx (4xx lines are logged at level warn)' : '',
        c.log5xx && level > LOG_LEVELS.indexOf('error') ? 'log-5xx (5xx lines are logged at level error)' : '',
        c.logSlow > 0 && level > LOG_LEVELS.indexOf('info') ? 'log-slow (its lines are logged at level info)' : '',
        !c.disableLogging && level > LOG_LEVELS.indexOf('info') ? 'disable-logging = false (request lines are logged at level info)' : '',
      ].filter(Boolean);
      return hidden.length > 0 ? `log-level = ${c.logLevel}${x.at('logLevel')} drops the request lines promised by ${hidden.join(' and ')}; lower log-level, or turn those options off` : undefined;
    } },
  { options: ['cheaper-busyness-backlog-alert', 'listen', 'cheaper', 'cheaper-algo'], severity: 'warning', code: 'CONFIG_LISTEN_BELOW_BACKLOG_ALERT',
    check: (c, x) => (c.cheaper > 0 && c.cheaperAlgo === 'busyness' && c.cheaperBusynessBacklogAlert > 0 && c.listen < c.cheaperBusynessBacklogAlert ? `listen = ${c.listen}${x.at('listen')} is lower than cheaper-busyness-backlog-alert = ${c.cheaperBusynessBacklogAlert}${x.at('cheaperBusynessBacklogAlert')}: the accept queue can never hold that many connections, so the alert never fires; raise listen or lower the alert` : undefined) },
];
