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
/** Per scheme: Host header → the href prefix URL gives `${scheme}://${host}`, or '' when it cannot be one. */
const origins = { http: new Map<string, string>(), https: new Map<string, string>() };

function originOf(scheme: 'http' | 'https', host: string): string {
  const cache = origins[scheme];
  let o = cache.get(host);
  if (o === undefined) {
    o = '';
    try {
      const u = new URL(`${scheme}://${host}/`);
      // Only a bare authority (no credentials, and nothing in the Host header that became path,
      // query or fragment) is a prefix every target can follow.
      if (u.username === '' && u.password === '' && u.pathname === '/' && u.search === '' && u.hash === '') {
        o = u.href.slice(0, -1);
      }
    } catch {
      /* not a valid authority */
    }
    if (cache.size >= MAX_ORIGINS) cache.clear();
    cache.set(host, o);
  }
  return o;
}

/**
 * The href of `${scheme}://${host}${target}` for an origin-form target ('/…'), or null when that
 * is not a valid URL or has credentials (the caller then takes the path that builds a real
 * Request, which reports or works around it).
 */
export function requestHref(scheme: 'http' | 'https', host: string, target: string): string | null {
  if (PLAIN_TARGET.test(target)) {
    const q = target.indexOf('?');
    if (!DOT_SEGMENT.test(q < 0 ? target : target.slice(0, q))) {
      const origin = originOf(scheme, host);
      if (origin !== '') return origin + target;
    }
  }
  let u: URL;
  try {
    u = new URL(`${scheme}://${host}${target}`);
  } catch {
    return null;
  }
  if (u.username !== '' || u.password !== '') return null;
  return u.href;
}
