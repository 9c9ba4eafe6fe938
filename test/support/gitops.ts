// What GitOps tools conclude about an object: Flux through its kstatus
// library (a small Go command in hack/tools/kstatus), Argo CD through our Lua
// health checks run by a real Lua 5.1 interpreter (Argo embeds gopher-lua, a
// Lua 5.1).
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { root } from './cluster.js';

export interface Health {
  status: string;
  message: string;
}

let kstatusBinary: string | undefined;

export function kstatus(objects: unknown[]): Health[] {
  kstatusBinary ??= execFileSync('bash', [join(root, 'hack/kstatus.sh')], { encoding: 'utf8' }).trim().split('\n').at(-1)!;
  const out = execFileSync(kstatusBinary, { input: objects.map((o) => JSON.stringify(o)).join('\n') + '\n', encoding: 'utf8' });
  return out
    .trim()
    .split('\n')
    .map((l) => {
      const r = JSON.parse(l) as Health & { error?: string };
      if (r.error) throw new Error(`kstatus: ${r.error}`);
      return { status: r.status, message: r.message };
    });
}

/** Renders JSON data as a Lua table constructor (null fields are left out, as Argo's conversion does). */
export function toLua(v: unknown): string {
  if (v === null || v === undefined) return 'nil';
  if (typeof v === 'boolean' || typeof v === 'number') return String(v);
  if (typeof v === 'string') {
    // Lua 5.1 has no \uXXXX escapes: quote, backslash and control characters become \ddd.
    const escaped = [...v].map((c) => (c === '"' || c === '\\' || c.charCodeAt(0) < 32 ? `\\${c.charCodeAt(0).toString().padStart(3, '0')}` : c));
    return `"${escaped.join('')}"`;
  }
  if (Array.isArray(v)) return `{${v.map(toLua).join(', ')}}`;
  const fields = Object.entries(v as Record<string, unknown>)
    .filter(([, x]) => x !== null && x !== undefined)
    .map(([k, x]) => `[${toLua(k)}] = ${toLua(x)}`);
  return `{${fields.join(', ')}}`;
}

export function argoHealth(kind: 'model' | 'driftmonitor' | 'retrainjob', obj: unknown): Health {
  const script = join(root, 'manifests', 'argocd', `health-${kind}.lua`);
  const runner = `obj = ${toLua(obj)}
local hs = assert(loadfile(${toLua(script)}))()
io.write(hs.status, "\\t", hs.message or "")`;
  const out = execFileSync('lua5.1', ['-'], { input: runner, encoding: 'utf8' });
  const [status, message] = out.split('\t');
  return { status: status!, message: message ?? '' };
}
