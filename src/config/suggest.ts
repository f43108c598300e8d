// "Did you mean …?" — optimal string alignment (Damerau-Levenshtein with adjacent transpositions).

export function editDistance(a: string, b: string): number {
  const m = a.length;
  const n = b.length;
  const d: number[][] = Array.from({ length: m + 1 }, (_, i) => {
    const row = new Array<number>(n + 1).fill(0);
    row[0] = i;
    return row;
  });
  for (let j = 0; j <= n; j++) d[0]![j] = j;
  for (let i = 1; i <= m; i++) {
    for (let j = 1; j <= n; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let v = Math.min(d[i - 1]![j]! + 1, d[i]![j - 1]! + 1, d[i - 1]![j - 1]! + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) v = Math.min(v, d[i - 2]![j - 2]! + 1);
      d[i]![j] = v;
    }
  }
  return d[m]![n]!;
}

/** Up to `max` candidates close to `input`, best first. Also matches the same words in another order. */
export function suggest(input: string, candidates: Iterable<string>, max = 3): string[] {
  const word = input.toLowerCase();
  const limit = Math.max(2, Math.floor(word.length / 4));
  const sortedWords = word.split('-').sort().join('-');
  const scored: { c: string; d: number }[] = [];
  for (const c of new Set(candidates)) {
    let d = editDistance(word, c);
    if (c.split('-').sort().join('-') === sortedWords) d = Math.min(d, 1);
    if (d <= limit && d < Math.max(word.length, c.length)) scored.push({ c, d });
  }
  scored.sort((x, y) => x.d - y.d || x.c.localeCompare(y.c));
  return scored.slice(0, max).map((s) => s.c);
}
