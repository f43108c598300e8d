// cache2 `store=FILE`: a cache's region saved to a file and restored from it, so its contents
// survive a restart and a full reload (uWSGI's store keeps an mmap'd file; we copy, because the
// cache lives in a SharedArrayBuffer).
//
// When: restored at start, before any worker runs (on a full reload: in the new process when the
// old one hands the sockets over, from the snapshot the old one wrote right then); saved at
// shutdown once the workers have stopped (so every write is in it), on a full reload right before
// the sockets are handed over, and every store_sync seconds when set.
//
// File: a text line "SPINDLE-CACHE-STORE 1", a JSON line (cache name, geometry, byte count,
// sha256 of the bytes, when and by which pid it was saved), then the region's bytes. Written to a
// temporary file in the same directory and renamed, so a crash never leaves half a file. The
// temporary file is created new (O_EXCL | O_NOFOLLOW), never opened through a link planted at its
// predictable name; a leftover of that name (a crashed run) is removed first.
//
// Restore refuses (CACHE_STORE, naming the file and what differs) a file saved with another
// geometry (items, blocksize, blocks, keysize, bitmap, hash, hashsize) or one that is short,
// corrupt or not a store file at all — never a silently empty cache — unless the cache has
// store_delete, which discards such a file with a warning and starts empty.
import { createHash } from 'node:crypto';
import { closeSync, constants, openSync, readFileSync, renameSync, statSync, unlinkSync, writeFileSync, fsyncSync } from 'node:fs';
import { open, rename, unlink } from 'node:fs/promises';
import { SpindleError } from '../errors.js';
import type { Log } from '../log/logger.js';
import type { CacheSpec } from '../shm/cache-spec.js';
import type { SharedCore } from '../shm/layout.js';
import { trySnapshotCache, tryRestoreCache } from '../shm/cache-store.js';

const MAGIC_LINE = 'SPINDLE-CACHE-STORE 1\n';
/** A temporary store file: created new, for writing; never an existing file or a link. */
const NEW_FILE = constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW;
const GEOMETRY = ['items', 'blocksize', 'blocks', 'keysize', 'bitmap', 'hash', 'hashsize'] as const;
const LOCK_WAIT_MS = 5000;

interface StoreHeader {
  cache: string;
  items: number;
  blocksize: number;
  blocks: number;
  keysize: number;
  bitmap: boolean;
  hash: string;
  hashsize: number;
  endian: 'LE' | 'BE';
  bytes: number;
  sha256: string;
  savedAt: string;
  pid: number;
}

const ENDIAN: 'LE' | 'BE' = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1 ? 'LE' : 'BE';

const fail = (msg: string): never => { throw new SpindleError('CACHE_STORE', msg); };

async function withLock<T>(attempt: () => T | null, what: string): Promise<T> {
  const deadline = Date.now() + LOCK_WAIT_MS;
  for (;;) {
    const r = attempt();
    if (r !== null) return r;
    if (Date.now() > deadline) fail(`${what}: the cache stayed locked by a worker for ${LOCK_WAIT_MS / 1000} s`);
    await new Promise((res) => setTimeout(res, 1));
  }
}

export class CacheStores {
  private readonly stored: { index: number; spec: CacheSpec & { store: string } }[];
  private timers: NodeJS.Timeout[] = [];
  private stopped = false;

  constructor(private readonly core: SharedCore, private readonly log: Log) {
    this.stored = core.handle.spec.caches
      .map((spec, index) => ({ index, spec }))
      .filter((c): c is { index: number; spec: CacheSpec & { store: string } } => typeof c.spec.store === 'string');
  }

  get any(): boolean {
    return this.stored.length > 0;
  }

  /** Before the workers run (or, on a full reload, when the sockets arrive). Throws CACHE_STORE. */
  async restore(): Promise<void> {
    const paths = new Map<string, string>();
    for (const { spec } of this.stored) {
      const other = paths.get(spec.store);
      if (other) fail(`cache2 "${spec.name}" and cache2 "${other}" both use store=${spec.store}; give each cache its own file`);
      paths.set(spec.store, spec.name);
    }
    for (const { index, spec } of this.stored) {
      let snapshot: Uint8Array | null;
      try {
        snapshot = this.read(spec);
      } catch (err) {
        if (!(err instanceof SpindleError) || !spec.storeDelete) throw err;
        this.log.warn({ event: 'CACHE_STORE_DISCARDED', cache: spec.name, path: spec.store, reason: err.message }, 'cache store discarded (store_delete): starting with an empty cache');
        try { unlinkSync(spec.store); } catch { /* gone */ }
        continue;
      }
      if (!snapshot) {
        this.log.info({ event: 'CACHE_STORE_EMPTY', cache: spec.name, path: spec.store }, 'cache store: no file yet, starting empty');
        continue;
      }
      const snap = snapshot;
      const r = await withLock(() => tryRestoreCache(this.core, index, snap), `restoring cache2 "${spec.name}" from ${spec.store}`);
      if (r.kept < r.saved) this.log.warn({ event: 'CACHE_STORE_DROPPED', cache: spec.name, path: spec.store, saved: r.saved, kept: r.kept }, 'cache store: entries that did not validate were dropped');
      this.log.info({ event: 'CACHE_RESTORED', cache: spec.name, path: spec.store, entries: r.kept }, 'cache restored from its store');
    }
  }

  /** The file's region bytes, null when there is no file. Throws CACHE_STORE on any mismatch. */
  private read(spec: CacheSpec & { store: string }): Uint8Array | null {
    const path = spec.store;
    let data: Buffer;
    try {
      if (!statSync(path).isFile()) fail(`cache2 "${spec.name}": store=${path} is not a regular file`);
      data = readFileSync(path);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
      if (err instanceof SpindleError) throw err;
      return fail(`cache2 "${spec.name}": cannot read store=${path}: ${(err as Error).message}`);
    }
    const where = `cache2 "${spec.name}": store file ${path}`;
    const fix = 'delete the file (its contents are lost), or add store_delete=1 to discard such a file at start';
    if (data.subarray(0, MAGIC_LINE.length).toString('latin1') !== MAGIC_LINE) {
      fail(`${where} is not a Spindle cache store (it does not start with "${MAGIC_LINE.trim()}"); ${fix}`);
    }
    const eol = data.indexOf(10, MAGIC_LINE.length);
    let hdr: StoreHeader;
    try {
      if (eol < 0) throw new Error('no header line'); // caught below: CACHE_STORE
      hdr = JSON.parse(data.subarray(MAGIC_LINE.length, eol).toString('utf8')) as StoreHeader;
    } catch (err) {
      return fail(`${where} has a damaged header (${(err as Error).message}); ${fix}`);
    }
    const differs = GEOMETRY.filter((k) => hdr[k] !== spec[k]).map((k) => `${k} ${String(hdr[k])} in the file, ${String(spec[k])} now`);
    if (hdr.endian !== ENDIAN) differs.push(`byte order ${hdr.endian} in the file, ${ENDIAN} here`);
    if (differs.length) {
      fail(`${where} was saved with another geometry (${differs.join('; ')}); restore the old cache2 settings to keep its contents, or ${fix}`);
    }
    const body = data.subarray(eol + 1);
    const want = this.core.caches.find((c) => c.name === spec.name)!.memoryBytes;
    if (hdr.bytes !== want || body.length !== hdr.bytes) {
      fail(`${where} is truncated or padded: ${body.length} bytes of data, header says ${hdr.bytes}, the cache needs ${want}; ${fix}`);
    }
    if (createHash('sha256').update(body).digest('hex') !== hdr.sha256) {
      fail(`${where} is corrupt (its checksum does not match); ${fix}`);
    }
    if (hdr.cache !== spec.name) this.log.warn({ event: 'CACHE_STORE_RENAMED', cache: spec.name, path, savedBy: hdr.cache }, 'cache store: the file was saved by a cache of another name (same geometry): restored');
    return body;
  }

  private encode(spec: CacheSpec, bytes: Uint8Array): Buffer {
    const hdr: StoreHeader = {
      cache: spec.name, items: spec.items, blocksize: spec.blocksize, blocks: spec.blocks, keysize: spec.keysize,
      bitmap: spec.bitmap, hash: spec.hash, hashsize: spec.hashsize, endian: ENDIAN, bytes: bytes.byteLength,
      sha256: createHash('sha256').update(bytes).digest('hex'), savedAt: new Date().toISOString(), pid: process.pid,
    };
    return Buffer.concat([Buffer.from(MAGIC_LINE + JSON.stringify(hdr) + '\n'), bytes]);
  }

  /**
   * Saves every stored cache now (sync write + fsync + rename). Errors are logged, never thrown: a
   * shutdown or a reload must not stop on a full disk.
   */
  async saveAll(reason: string): Promise<boolean> {
    // a store_sync write in flight would land after this one with older contents: let it finish
    for (let i = 0; this.syncing.size > 0 && i < 1000; i++) await new Promise((res) => setTimeout(res, 5));
    let ok = true;
    for (const { index, spec } of this.stored) {
      try {
        const bytes = await withLock(() => trySnapshotCache(this.core, index), `saving cache2 "${spec.name}"`);
        const tmp = `${spec.store}.${process.pid}.tmp`;
        try { unlinkSync(tmp); } catch { /* none left over */ }
        const fd = openSync(tmp, NEW_FILE, 0o600);
        try {
          writeFileSync(fd, this.encode(spec, bytes));
          fsyncSync(fd);
        } finally {
          closeSync(fd);
        }
        renameSync(tmp, spec.store);
        this.log.info({ event: 'CACHE_SAVED', cache: spec.name, path: spec.store, entries: this.core.caches[index]!.stats().items, reason }, 'cache saved to its store');
      } catch (err) {
        ok = false;
        this.log.error({ event: 'CACHE_SAVE_FAILED', cache: spec.name, path: spec.store, reason, err }, 'cache store: could not save');
      }
    }
    return ok;
  }

  /** store_sync: periodic saves (asynchronous writes; the snapshot itself is one copy under the lock). */
  startSync(): void {
    for (const { index, spec } of this.stored) {
      if (!spec.storeSync) continue;
      const t = setInterval(() => { void this.saveOne(index, spec); }, spec.storeSync * 1000);
      t.unref();
      this.timers.push(t);
    }
  }

  private syncing = new Set<number>();
  private async saveOne(index: number, spec: CacheSpec & { store: string }): Promise<void> {
    if (this.stopped || this.syncing.has(index)) return;
    this.syncing.add(index);
    try {
      const bytes = await withLock(() => trySnapshotCache(this.core, index), `saving cache2 "${spec.name}"`);
      if (this.stopped) return;
      const tmp = `${spec.store}.${process.pid}.sync.tmp`;
      await unlink(tmp).catch(() => { /* none left over */ });
      const file = await open(tmp, NEW_FILE, 0o600);
      try {
        await file.writeFile(this.encode(spec, bytes));
      } finally {
        await file.close();
      }
      if (this.stopped) { try { unlinkSync(tmp); } catch { /* gone */ } return; }
      await rename(tmp, spec.store);
      this.log.debug({ event: 'CACHE_SAVED', cache: spec.name, path: spec.store }, 'cache saved (store_sync)');
    } catch (err) {
      this.log.error({ event: 'CACHE_SAVE_FAILED', cache: spec.name, path: spec.store, err }, 'cache store: periodic save failed');
    } finally {
      this.syncing.delete(index);
    }
  }

  /** No more saves from this process (full reload: the new process owns the files now). */
  stop(): void {
    this.stopped = true;
    for (const t of this.timers) clearInterval(t);
    this.timers = [];
  }

  /** A final save unless stop() was called. */
  async saveAtExit(): Promise<void> {
    if (this.stopped || !this.any) return;
    this.stop();
    await this.saveAll('shutdown');
  }
}
