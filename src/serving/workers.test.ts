import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { cgroupCpuLimit, workerCount } from './workers.js';

const roots: string[] = [];
afterEach(() => {
  for (const r of roots.splice(0)) rmSync(r, { recursive: true, force: true });
});

/** A fake /sys/fs/cgroup holding the given files. */
function cgroup(files: Record<string, string>): string {
  const root = mkdtempSync(join(tmpdir(), 'fluxora-cgroup-'));
  roots.push(root);
  for (const [path, content] of Object.entries(files)) {
    mkdirSync(join(root, path, '..'), { recursive: true });
    writeFileSync(join(root, path), `${content}\n`);
  }
  return root;
}

const v2 = (max: string) => cgroup({ 'cpu.max': max });
const v1 = (quota: number, period = 100_000) => cgroup({ 'cpu/cpu.cfs_quota_us': String(quota), 'cpu/cpu.cfs_period_us': String(period) });

describe('cgroupCpuLimit', () => {
  it('reads cgroup v2 cpu.max', () => {
    expect(cgroupCpuLimit(v2('200000 100000'))).toBe(2);
    expect(cgroupCpuLimit(v2('150000 100000'))).toBe(1.5);
    expect(cgroupCpuLimit(v2('max 100000'))).toBeUndefined();
  });

  it('reads cgroup v1 cpu.cfs_quota_us over cpu.cfs_period_us', () => {
    expect(cgroupCpuLimit(v1(400_000))).toBe(4);
    expect(cgroupCpuLimit(v1(25_000, 50_000))).toBe(0.5);
    expect(cgroupCpuLimit(v1(-1))).toBeUndefined();
  });

  it('prefers v2 when both are there, and finds no limit in an empty or unreadable directory', () => {
    expect(cgroupCpuLimit(cgroup({ 'cpu.max': '300000 100000', 'cpu/cpu.cfs_quota_us': '100000', 'cpu/cpu.cfs_period_us': '100000' }))).toBe(3);
    expect(cgroupCpuLimit(cgroup({}))).toBeUndefined();
    expect(cgroupCpuLimit(cgroup({ 'cpu.max': 'garbage' }))).toBeUndefined();
    expect(cgroupCpuLimit('/nonexistent/cgroup')).toBeUndefined();
  });
});

describe('workerCount', () => {
  it('is floor(quota / period), at least 1, at most the available CPUs', () => {
    expect(workerCount(0, { cgroupRoot: v2('200000 100000'), parallelism: 8 })).toEqual({ workers: 2, cpuLimit: 2, availableParallelism: 8 });
    expect(workerCount(0, { cgroupRoot: v1(350_000), parallelism: 8 }).workers).toBe(3);
    expect(workerCount(0, { cgroupRoot: v2('50000 100000'), parallelism: 8 }).workers).toBe(1);
    expect(workerCount(0, { cgroupRoot: v1(1_600_000), parallelism: 4 }).workers).toBe(4);
  });

  it('is one without a limit: a copy of the model per node CPU could outgrow the memory of the pod', () => {
    expect(workerCount(0, { cgroupRoot: v2('max 100000'), parallelism: 6 })).toEqual({ workers: 1, availableParallelism: 6 });
    expect(workerCount(0, { cgroupRoot: v1(-1), parallelism: 3 }).workers).toBe(1);
  });

  it('takes a configured count as it is', () => {
    expect(workerCount(3, { cgroupRoot: v2('100000 100000'), parallelism: 2 }).workers).toBe(3);
  });
});
