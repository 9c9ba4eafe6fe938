// A seeded pseudo-random generator for the fault-injection suite, so a run
// that found a bug can be replayed: the seed is printed at the start of every
// run and FLUXORA_FAULTS_SEED=<seed> reuses it.
import { inject } from 'vitest';
import { seededRandom } from '../../src/training/random.js';

export type Rng = () => number;

/** mulberry32, the project's one seeded generator (src/training/random.ts). */
export const mulberry32: (seed: number) => Rng = seededRandom;

/** FNV-1a, to give every test file its own stream derived from the one run seed. */
function fnv1a(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193);
  return h >>> 0;
}

/** The run's generator for one purpose (e.g. "operator-kill"): same seed, same schedule. */
export function rngFor(purpose: string): Rng {
  return mulberry32(inject('faultsSeed') ^ fnv1a(purpose));
}

/** A float in [min, max). */
export const between = (rng: Rng, min: number, max: number): number => min + rng() * (max - min);

/** An integer in [0, n). */
export const below = (rng: Rng, n: number): number => Math.floor(rng() * n);
