// Structural equality of session states, treating a key set to undefined as absent (as replay does).

/** Undefined when equal; otherwise the path of the first difference and both values. */
export function deepEqualState(a: unknown, b: unknown, path = '$'): string | undefined {
  if (Object.is(a, b)) return undefined;
  if (
    typeof a !== 'object' ||
    typeof b !== 'object' ||
    a === null ||
    b === null ||
    Array.isArray(a) !== Array.isArray(b)
  ) {
    return `${path}: live ${short(a)} ≠ replayed ${short(b)}`;
  }
  const keys = new Set([...Object.keys(a), ...Object.keys(b)]);
  for (const k of [...keys].sort()) {
    const x = (a as Record<string, unknown>)[k];
    const y = (b as Record<string, unknown>)[k];
    if (x === undefined && y === undefined) continue;
    const d = deepEqualState(x, y, `${path}.${k}`);
    if (d) return d;
  }
  return undefined;
}

const short = (v: unknown): string => {
  const s = JSON.stringify(v) ?? String(v);
  return s.length > 120 ? `${s.slice(0, 117)}...` : s;
};
