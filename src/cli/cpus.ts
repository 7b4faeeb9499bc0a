// What `--worker-count auto` means: the CPUs this process may run on, bounded by its cgroup
// CPU quota (a container's `--cpus`, a Kubernetes limit), which os.availableParallelism()
// does not read: it looks at the affinity mask only, on Node 20 (libuv 1.46) and, measured
// with a cgroup v1 quota, on 22, 24 and 26 (libuv 1.51, 1.52) too.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

/** NAUGHT_CGROUP_ROOT moves the cgroup file system, for tests. */
export function availableCpus(root = process.env.NAUGHT_CGROUP_ROOT ?? '/sys/fs/cgroup'): number {
  const cpus = os.availableParallelism();
  const quota = cpuQuota(root);
  return quota === null ? cpus : Math.max(1, Math.min(cpus, Math.ceil(quota)));
}

/** The smallest quota on the way from this process's cgroup up to the root, in CPUs; null: none. */
export function cpuQuota(root: string): number | null {
  let memberships: string[];
  try {
    memberships = fs.readFileSync('/proc/self/cgroup', 'utf8').trim().split('\n');
  } catch {
    return null;
  }
  const quotas: number[] = [];
  for (const line of memberships) {
    const [, controllers, where] = line.split(':') as [string, string, string];
    if (controllers === '') quotas.push(...along(path.join(root, where), root, v2Quota));
    else if (controllers.split(',').includes('cpu')) quotas.push(...along(path.join(root, controllers, where), path.join(root, controllers), v1Quota));
  }
  return quotas.length > 0 ? Math.min(...quotas) : null;
}

/** The quotas found in `dir` and each parent up to `top`. */
function along(dir: string, top: string, read: (dir: string) => number | null): number[] {
  const found: number[] = [];
  for (let at = dir; ; at = path.dirname(at)) {
    const quota = read(at);
    if (quota !== null) found.push(quota);
    if (at === top || at === path.dirname(at) || !at.startsWith(top)) return found;
  }
}

/** cgroup v2 `cpu.max`: "max 100000", or "150000 100000" for 1.5 CPUs. */
function v2Quota(dir: string): number | null {
  const [max, period] = readText(path.join(dir, 'cpu.max'))?.trim().split(/\s+/) ?? [];
  return max && max !== 'max' && Number(period) > 0 ? Number(max) / Number(period) : null;
}

/** cgroup v1: cpu.cfs_quota_us (-1: none) over cpu.cfs_period_us. */
function v1Quota(dir: string): number | null {
  const quota = Number(readText(path.join(dir, 'cpu.cfs_quota_us')));
  const period = Number(readText(path.join(dir, 'cpu.cfs_period_us')));
  return quota > 0 && period > 0 ? quota / period : null;
}

function readText(file: string): string | null {
  try {
    return fs.readFileSync(file, 'utf8');
  } catch {
    return null;
  }
}
