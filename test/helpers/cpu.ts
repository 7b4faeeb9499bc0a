// CPU a process has used, from /proc. Throws once the process is gone.
import fs from 'node:fs';

/** Whole clock ticks (user + system, 10 ms each) from /proc/PID/stat: a floor of the CPU time. */
export function cpuTicks(pid: number): number {
  const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return Number(fields[11]) + Number(fields[12]);
}

/** CPU time of all the process's threads in nanoseconds, from schedstat: not rounded to ticks. */
export function cpuNs(pid: number): number {
  return fs.readdirSync(`/proc/${pid}/task`).reduce((sum, task) => sum + Number(fs.readFileSync(`/proc/${pid}/task/${task}/schedstat`, 'utf8').split(' ')[0]), 0);
}
