// What starts a reload on its own, checked once a second: touch-chain-reload (a chain reload of
// the workers), and touch-reload, reload-on-process-rss and max-process-lifetime (a full reload).
import type { Log } from '../../log/logger.js';
import type { ServerSettings } from '../settings.js';
import { TouchFiles } from '../touch-files.js';

/** What the checks use of the server (src/master/server.ts). */
export interface TriggerHost {
  readonly settings: ServerSettings;
  observation(): { shuttingDown: boolean };
  reload(): Promise<boolean>;
}

export interface TriggerOptions {
  /** start() embedding: the full-reload triggers are ignored (and say so). */
  embedded: boolean;
  /** A full reload is running: the triggers wait. */
  busy(): boolean;
  fullReload(reason: string): Promise<boolean>;
}

const CHECK_MS = 1000;
/** After a failed automatic full reload (memory, lifetime, touch), wait this long before retrying. */
const RETRY_MS = 60_000;

export class ReloadTriggers {
  private timer?: NodeJS.Timeout;
  private readonly startedAt = Date.now();
  private readonly touchFull: TouchFiles;
  private readonly touchChain: TouchFiles;
  private nextAutoAt = 0;

  constructor(private readonly server: TriggerHost, private readonly log: Log, private readonly opts: TriggerOptions) {
    const p = server.settings.processRecycle;
    this.touchFull = new TouchFiles(p.touchReload);
    this.touchChain = new TouchFiles(p.touchChainReload);
  }

  /** The periodic checks: process RSS, process lifetime, touch files (once a second). */
  start(): void {
    const p = this.server.settings.processRecycle;
    const rssSet = p.rssBytes > 0 && !p.rssDefault;
    if (this.opts.embedded && (rssSet || p.lifetimeMs || p.touchReload.length)) {
      this.log.warn({ event: 'FULL_RELOAD_UNAVAILABLE' }, 'reload-on-process-rss, max-process-lifetime and touch-reload replace the whole process (a full reload), which an embedded server (start()) cannot do: ignored; run the spindle command to use them');
    }
    if (!this.opts.embedded && process.pid === 1 && (rssSet || p.lifetimeMs || p.touchReload.length)) {
      this.log.warn({ event: 'FULL_RELOAD_UNAVAILABLE' }, 'reload-on-process-rss, max-process-lifetime and touch-reload do nothing while Spindle is PID 1 (a container): a full reload would end the container; rely on worker recycling and the orchestrator');
    }
    this.timer = setInterval(() => this.check(), CHECK_MS);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }

  private check(): void {
    if (this.server.observation().shuttingDown) { this.stop(); return; }
    const chain = this.touchChain.touched();
    if (chain.length) {
      this.log.info({ event: 'TOUCH_CHAIN_RELOAD', files: chain }, 'touch-chain-reload: file touched, reloading the workers one at a time');
      void this.server.reload();
    }
    const full = this.touchFull.touched();
    if (this.opts.embedded || (process.pid === 1 && !full.length)) return; // PID 1: warned at start
    const p = this.server.settings.processRecycle;
    if (this.opts.busy() || Date.now() < this.nextAutoAt) return;
    let reason = '';
    let detail: Record<string, unknown> = {};
    if (full.length) {
      reason = 'touch-reload';
      detail = { files: full };
    } else if (p.rssBytes > 0) {
      const rss = processRss();
      if (rss > p.rssBytes) {
        reason = 'reload-on-process-rss';
        detail = { rssMb: Math.round(rss / 1048576), limitMb: Math.round(p.rssBytes / 1048576) };
      }
    }
    if (!reason && p.lifetimeMs > 0 && Date.now() - this.startedAt >= p.lifetimeMs) {
      reason = 'max-process-lifetime';
      detail = { livedS: Math.round((Date.now() - this.startedAt) / 1000), limitS: p.lifetimeMs / 1000 };
    }
    if (!reason) return;
    this.log.info({ event: 'FULL_RELOAD_AUTO', reason, ...detail }, `${reason}: full reload`);
    void this.opts.fullReload(reason).then((ok) => {
      if (!ok) {
        this.nextAutoAt = Date.now() + RETRY_MS;
        this.log.warn({ event: 'FULL_RELOAD_RETRY', reason, retryInS: RETRY_MS / 1000 }, 'full reload failed; the trigger is checked again later');
      }
    });
  }
}

/**
 * The process's RSS; 0 when it cannot be read: Node reads it from /proc/self/stat and throws
 * EMFILE at the descriptor limit, which must not end the process (it is checked again in a second).
 */
function processRss(): number {
  try {
    return process.memoryUsage.rss();
  } catch {
    return 0;
  }
}
