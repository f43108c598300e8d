// The part of autocannon's API the tests use (the package ships no types).
declare module 'autocannon' {
  namespace autocannon {
    interface Options { url: string; connections?: number; duration?: number; amount?: number; method?: string; body?: string }
    interface Result {
      errors: number;
      timeouts: number;
      non2xx: number;
      requests: { total: number; average: number };
      latency: { p50: number; p99: number };
    }
  }
  function autocannon(opts: autocannon.Options): Promise<autocannon.Result>;
  export default autocannon;
}
