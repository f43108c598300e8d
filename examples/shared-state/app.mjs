// Shared state across Spindle's worker threads: caches, locks and counters live in one
// SharedArrayBuffer that every worker sees (uWSGI's cache2, locks and atomic counters).
//   spindle examples/shared-state/app.mjs --ini examples/shared-state/spindle.ini
//
//   curl localhost:8000/                     hit counter (atomic, no lock needed)
//   curl -X PUT -d 'hi' localhost:8000/cache/greeting?ttl=60
//   curl localhost:8000/cache/greeting
//   curl -X POST localhost:8000/book         take a seat: read-modify-write under a lock
//
// Outside Spindle (an app's own unit tests) the same imports work against an in-process fallback.
// Node-local: each Spindle process (each pod) has its own memory; see the README on scaling out.
import { cache, counter, withLock, workerId } from 'spindle';

const SEATS = 10;
const BOOKING_LOCK = 1; // spindle.ini: locks = 1 → locks 0 and 1 exist

export default {
  async fetch(request) {
    const url = new URL(request.url);
    const [, section, key] = url.pathname.split('/');

    if (url.pathname === '/') {
      const hits = counter('hits').add(1); // atomic across workers; returns the new value (bigint)
      return Response.json({ hits: Number(hits), worker: workerId() });
    }

    if (section === 'cache' && key) {
      const sessions = cache('sessions');
      if (request.method === 'PUT') {
        const ttl = Number(url.searchParams.get('ttl') ?? 0); // seconds; 0 = never expires
        sessions.set(key, await request.text(), { ttl });
        return new Response(null, { status: 204 });
      }
      const value = sessions.get(key);
      return value === undefined ? new Response('not cached\n', { status: 404 }) : new Response(value);
    }

    if (url.pathname === '/book' && request.method === 'POST') {
      // Two keys change together: without the lock two workers could sell the same seat.
      const result = withLock(BOOKING_LOCK, ({ recovered }) => {
        const c = cache(); // the first cache2 line is the default cache
        const left = Number(c.get('seats-left') ?? SEATS);
        if (left === 0) return { booked: false, left, recovered };
        c.set('seats-left', String(left - 1));
        c.set(`seat-${SEATS - left + 1}`, `worker ${workerId()}`);
        return { booked: true, seat: SEATS - left + 1, left: left - 1, recovered };
      });
      return Response.json(result, { status: result.booked ? 201 : 409 });
    }

    if (url.pathname === '/stats') {
      return Response.json({
        hits: Number(counter('hits').get()),
        seatsLeft: Number(cache().get('seats-left') ?? SEATS),
        sessions: cache('sessions').stats().items,
      });
    }

    return new Response('not found\n', { status: 404 });
  },
};
