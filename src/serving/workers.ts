// How many worker processes `fluxora serve` runs: as many as the
// container's CPU limit allows (one without a limit). Kubernetes turns resources.limits.cpu into a
// CFS quota on the container's cgroup; os.availableParallelism() sees the
// node's CPUs (or the cpuset), not the quota, so a pod limited to 2 CPUs on a
// 64-core node would otherwise start 64 workers and be throttled.
import { readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';

/** Where the container runtime mounts the container's own cgroup. */
export const CGROUP_ROOT = '/sys/fs/cgroup';

function read(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8').trim();
  } catch {
    return undefined;
  }
}

/**
 * The CPU quota as a number of CPUs (2.5 for "250000 100000"), or undefined
 * when there is none: cgroup v2's cpu.max ("max 100000" means none), else
 * cgroup v1's cpu.cfs_quota_us (-1 means none) over cpu.cfs_period_us.
 */
export function cgroupCpuLimit(root = CGROUP_ROOT): number | undefined {
  const ratio = (quota: number, period: number) => (Number.isFinite(quota) && quota > 0 && Number.isFinite(period) && period > 0 ? quota / period : undefined);
  const v2 = read(join(root, 'cpu.max'));
  if (v2 !== undefined) {
    const [quota, period] = v2.split(/\s+/);
    return quota === 'max' ? undefined : ratio(Number(quota), Number(period ?? 100_000));
  }
  const quota = read(join(root, 'cpu', 'cpu.cfs_quota_us'));
  const period = read(join(root, 'cpu', 'cpu.cfs_period_us'));
  if (quota === undefined || period === undefined) return undefined;
  return ratio(Number(quota), Number(period));
}

export interface WorkerCount {
  workers: number;
  /** CPUs the cgroup quota allows, when there is a quota and the count was automatic. */
  cpuLimit?: number;
  availableParallelism: number;
}

/**
 * `configured` workers, or when it is 0 floor(CPU limit), at least 1, at most
 * the CPUs this process may run on. With no limit, one: each worker holds its
 * own copy of the model, and a pod with only a CPU request (the common way)
 * on a 64-core node must not start 64 copies that its memory limit was never
 * sized for. A CPU limit (or --workers) is how a pod asks for more.
 */
export function workerCount(configured: number, o: { cgroupRoot?: string; parallelism?: number } = {}): WorkerCount {
  const cpus = o.parallelism ?? availableParallelism();
  if (configured > 0) return { workers: configured, availableParallelism: cpus };
  const limit = cgroupCpuLimit(o.cgroupRoot);
  if (limit === undefined) return { workers: 1, availableParallelism: cpus };
  return { workers: Math.min(cpus, Math.max(1, Math.floor(limit))), cpuLimit: limit, availableParallelism: cpus };
}
