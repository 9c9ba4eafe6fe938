// "Is what we want already there?" — the question that lets a reconcile of an
// unchanged object write nothing. The API server fills defaults into objects
// (imagePullPolicy, terminationMessagePath, ...) and canonicalises quantities,
// so a deep-equal of desired vs live would always differ. Instead: every field
// we set must be present in the live object with an equal value; fields we did
// not set are someone else's (defaults, other controllers, HPA) and ignored.

const QUANTITY_RE = /^([+-]?[0-9.]+(?:[eE][+-]?[0-9]+)?)(m|k|M|G|T|P|E|Ki|Mi|Gi|Ti|Pi|Ei)?$/;
const SUFFIX: Record<string, number> = {
  '': 1, m: 1e-3, k: 1e3, M: 1e6, G: 1e9, T: 1e12, P: 1e15, E: 1e18,
  Ki: 2 ** 10, Mi: 2 ** 20, Gi: 2 ** 30, Ti: 2 ** 40, Pi: 2 ** 50, Ei: 2 ** 60,
};

/** Parses a Kubernetes resource quantity ("500m", "1Gi", "0.5"); undefined when it is not one. */
export function parseQuantity(s: string): number | undefined {
  const m = QUANTITY_RE.exec(s);
  if (!m) return undefined;
  return Number(m[1]) * (SUFFIX[m[2] ?? ''] ?? 1);
}

function scalarEqual(want: unknown, have: unknown, path: string[]): boolean {
  if (want === have) return true;
  // Quantities are canonicalised by the server ("1000m" -> "1"): compare values.
  const inResources = path.includes('resources') || path.includes('capacity') || path.includes('allocatable');
  if (inResources && (typeof want === 'string' || typeof want === 'number')) {
    const a = typeof want === 'number' ? want : parseQuantity(want);
    const b = typeof have === 'number' ? have : typeof have === 'string' ? parseQuantity(have) : undefined;
    return a !== undefined && b !== undefined && Math.abs(a - b) <= 1e-9 * Math.max(1, Math.abs(a));
  }
  return false;
}

/** True when every field of `want` is present in `have` with an equal value. */
export function isSubset(want: unknown, have: unknown, path: string[] = []): boolean {
  if (want === undefined) return true;
  if (want === null || typeof want !== 'object') return scalarEqual(want, have, path);
  if (Array.isArray(want)) {
    if (!Array.isArray(have)) return false;
    // A list we write is ours whole: the same items, in any order, and no
    // others. An entry appended by hand (a second FLUXORA_MODEL_URI that hides
    // ours, a container) must be put back too. Injectors (service meshes,
    // secret agents) mutate Pods at admission, not the templates we own.
    if (want.length !== have.length) return false;
    const used = new Set<number>();
    return want.every((w) => {
      const j = have.findIndex((h, k) => !used.has(k) && isSubset(w, h, path));
      if (j < 0) return false;
      used.add(j);
      return true;
    });
  }
  if (have === null || typeof have !== 'object' || Array.isArray(have)) return false;
  const h = have as Record<string, unknown>;
  return Object.entries(want as Record<string, unknown>).every(([k, v]) => isSubset(v, h[k], [...path, k]));
}
