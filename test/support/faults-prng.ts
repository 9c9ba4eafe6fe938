// A seeded pseudo-random generator for the fault-injection suite, so a run
// that found a bug can be replayed: the seed is printed at the start of every
// run and FLUXORA_FAULTS_SEED=<seed> reuses it.
import { inject } from 'vitest';

export type Rng = () => number;

/** mulberry32: tiny, fast, and good enough to schedule faults (not for cryptography). */
export function mulberry32(seed: number): Rng {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

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
