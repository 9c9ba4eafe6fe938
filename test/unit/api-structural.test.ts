// The zod -> structural schema converter refuses what the API server would
// refuse (or silently mangle) and rewrites the idioms it knows.
import { z } from 'zod';
import { describe, expect, it } from 'vitest';
import { listMap, withRules } from '../../src/api/kube-meta.js';
import { StructuralSchemaError, structuralSchemaOf } from '../../src/api/structural.js';

describe('structuralSchemaOf', () => {
  it('keeps defaults, bounds, enums and CEL rules; drops zod-only noise', () => {
    const schema = withRules(
      z.object({
        n: z.int().min(1).default(3).describe('n'),
        e: z.enum(['a', 'b']).describe('e'),
        s: z.string().max(10).regex(/^a\/b$/).describe('s'),
        t: z.iso.datetime().describe('t'),
        m: z.record(z.string().max(5), z.number()).describe('m'),
      }),
      [{ rule: 'self.n > 0', message: 'positive', fieldPath: '.n' }],
    );
    const out = structuralSchemaOf(schema);
    expect(out.properties!.n).toEqual({ type: 'integer', minimum: 1, default: 3, description: 'n' });
    expect(out.properties!.e).toEqual({ type: 'string', enum: ['a', 'b'], description: 'e' });
    expect(out.properties!.s!.pattern).toBe('^a/b$');
    expect(out.properties!.t).toEqual({ type: 'string', format: 'date-time', description: 't' });
    expect(out.properties!.m).toEqual({ type: 'object', additionalProperties: { type: 'number' }, description: 'm' });
    expect(out.required).toEqual(['e', 'm', 's', 't']);
    expect(out['x-kubernetes-validations']).toEqual([{ rule: 'self.n > 0', message: 'positive', fieldPath: '.n' }]);
    expect(JSON.stringify(out)).not.toMatch(/\$schema|additionalProperties":false|propertyNames/);
  });

  it('carries list types', () => {
    const out = structuralSchemaOf(z.object({ l: listMap(z.array(z.object({ k: z.string().max(3) })).max(2), ['k']) }));
    expect(out.properties!.l).toMatchObject({ 'x-kubernetes-list-type': 'map', 'x-kubernetes-list-map-keys': ['k'], maxItems: 2 });
  });

  it.each([
    ['a union of objects', z.object({ u: z.union([z.object({ a: z.string().max(1) }), z.object({ b: z.string().max(1) })]) }), /unions/],
    ['an unbounded array', z.object({ l: z.array(z.string().max(1)) }), /maxItems/],
    ['an unbounded string', z.object({ s: z.string() }), /maxLength/],
    ['a string-or-number union', z.object({ x: z.union([z.string().max(1), z.number()]) }), /unions/],
  ])('refuses %s', (_what, schema, why) => {
    expect(() => structuralSchemaOf(schema)).toThrow(StructuralSchemaError);
    expect(() => structuralSchemaOf(schema)).toThrow(why);
  });
});
