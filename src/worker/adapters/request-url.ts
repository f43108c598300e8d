// The absolute URL of a request for its fetch Request: `${scheme}://${host}${target}` as the WHATWG
// URL parser serialises it, without parsing a URL per request in the common case.
//
// The authority (scheme + Host header) repeats from request to request, so its serialisation is
// parsed once and cached (bounded). A target made only of characters the parser copies unchanged
// into path and query, with no dot segments, serialises as itself, so the href is the cached
// origin followed by the target. Anything else is parsed whole, as before.

/** Characters URL keeps as they are in the path and query of an http(s) URL (no ' " < > ` { } ^ | \ # or space). */
const PLAIN_TARGET = /^\/[A-Za-z0-9\-._~!$&()*+,;=:@/?%]*$/;
/** A `.` or `..` segment (also percent-encoded), which the parser resolves away. */
const DOT_SEGMENT = /\/(?:\.|%2e)(?:\.|%2e)?(?:\/|$)/i;

const MAX_ORIGINS = 256;
/** `${scheme}://${host}` → the href prefix URL gives it, or '' when it cannot be used as one. */
const origins = new Map<string, string>();

function originOf(authority: string): string {
  let o = origins.get(authority);
  if (o === undefined) {
    o = '';
    try {
      const u = new URL(authority + '/');
      // Only a bare authority (no credentials, and nothing in the Host header that became path,
      // query or fragment) is a prefix every target can follow.
      if (u.username === '' && u.password === '' && u.pathname === '/' && u.search === '' && u.hash === '') {
        o = u.href.slice(0, -1);
      }
    } catch {
      /* not a valid authority */
    }
    if (origins.size >= MAX_ORIGINS) origins.clear();
    origins.set(authority, o);
  }
  return o;
}

/**
 * The href of `${scheme}://${host}${target}` for an origin-form target ('/…'), or null when that
 * is not a valid URL or has credentials (the caller then takes the path that builds a real
 * Request, which reports or works around it).
 */
export function requestHref(scheme: string, host: string, target: string): string | null {
  const authority = `${scheme}://${host}`;
  if (PLAIN_TARGET.test(target)) {
    const q = target.indexOf('?');
    const path = q < 0 ? target : target.slice(0, q);
    if (!DOT_SEGMENT.test(path)) {
      const origin = originOf(authority);
      if (origin !== '') return origin + target;
    }
  }
  let u: URL;
  try {
    u = new URL(authority + target);
  } catch {
    return null;
  }
  if (u.username !== '' || u.password !== '') return null;
  return u.href;
}
