import fs from 'node:fs';
import { execFileSync } from 'node:child_process';
import { cpuTicks } from '../../test/helpers/cpu.js';
import { descendants } from '../../test/helpers/naught.js';

// The tests' own helpers, which the benches share.
export { descendants, freePort } from '../../test/helpers/naught.js';

/** SIGKILLs a process and all its descendants: what a bench run left, whatever its outcome. */
export function killTree(pid: number): void {
  for (const each of [...descendants(pid), pid]) {
    try {
      process.kill(each, 'SIGKILL');
    } catch {
      // gone already
    }
  }
}

/** Resident memory of a process in bytes; 0 once it is gone. */
export const rss = (pid: number): number => statusBytes(pid, 'VmRSS');

/** The most resident memory a process has had (the kernel's high-water mark), in bytes; 0 once it is gone. */
export const peakRss = (pid: number): number => statusBytes(pid, 'VmHWM');

function statusBytes(pid: number, field: 'VmRSS' | 'VmHWM'): number {
  try {
    return Number(new RegExp(`${field}:\\s+(\\d+)`).exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0) * 1024;
  } catch {
    return 0;
  }
}

/** CPU time (user + system) a process has used, in seconds; 0 once it is gone. */
export function cpuSeconds(pid: number): number {
  try {
    return cpuTicks(pid) / 100;
  } catch {
    return 0;
  }
}

/** Child pids, from /proc (cheap enough to poll), else from ps. */
export function children(pid: number): number[] {
  try {
    const pids = fs.readdirSync(`/proc/${pid}/task`).flatMap((task) => fs.readFileSync(`/proc/${pid}/task/${task}/children`, 'utf8').split(' '));
    return pids.map(Number).filter(Boolean);
  } catch {
    try {
      const out = execFileSync('ps', ['-o', 'pid=', '--ppid', String(pid)], { encoding: 'utf8' });
      return out.split('\n').map((s) => Number(s.trim())).filter(Boolean);
    } catch {
      return [];
    }
  }
}

export function commandLine(pid: number): string {
  try {
    return fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').replace(/\0/g, ' ');
  } catch {
    return '';
  }
}

/** The supervisor's master process: the daemon's child that runs a master.js (ours and naught 1.6 alike). */
export const masterOf = (daemon: number): number => children(daemon).find((pid) => /master\.js/.test(commandLine(pid))) ?? 0;
