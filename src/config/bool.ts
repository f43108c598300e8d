// The words a boolean is written with, everywhere a boolean is read (bool options, cache2 flags).
const TRUE = new Set(['true', '1', 'yes', 'on']);
const FALSE = new Set(['false', '0', 'no', 'off']);

/** true/1/yes/on → true, false/0/no/off → false (any case, spaces trimmed); anything else → undefined. */
export function boolWord(s: string): boolean | undefined {
  const v = s.trim().toLowerCase();
  return TRUE.has(v) ? true : FALSE.has(v) ? false : undefined;
}
