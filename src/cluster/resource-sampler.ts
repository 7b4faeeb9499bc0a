// Memory and CPU of processes, read from /proc when someone asks (a status request, a
// metrics scrape) and never otherwise: an idle naught samples nothing. A process is read
// at most every SAMPLE_EVERY_MS; its CPU share is over the time since its last reading.
// Without /proc (not Linux) both are null.
import fs from 'node:fs';

export const SAMPLE_EVERY_MS = 5_000;
/** A process seen for the first time is read twice this far apart, for a CPU share. */
const FIRST_SPAN_MS = 200;
/** USER_HZ: 100 on every Linux that Node runs on. */
const CLOCK_TICKS_PER_SECOND = 100;

export interface Usage { rssBytes: number | null; cpuPercent: number | null }
interface Reading { at: number; cpuTicks: number; rssBytes: number; cpuPercent: number | null }

export class ResourceSampler {
  private readonly readings = new Map<number, Reading>();

  constructor(private readonly now: () => number = Date.now) {}

  async sample(pids: readonly number[]): Promise<Map<number, Usage>> {
    for (const pid of this.readings.keys()) if (!pids.includes(pid)) this.readings.delete(pid);
    const fresh = pids.filter((pid) => !this.readings.has(pid));
    for (const pid of fresh) this.read(pid);
    if (fresh.some((pid) => this.readings.has(pid))) await new Promise((resolve) => setTimeout(resolve, FIRST_SPAN_MS));
    const usage = new Map<number, Usage>();
    for (const pid of pids) {
      const last = this.readings.get(pid);
      const reading = last && this.now() - last.at < SAMPLE_EVERY_MS && last.cpuPercent !== null ? last : this.read(pid);
      usage.set(pid, { rssBytes: reading?.rssBytes ?? null, cpuPercent: reading?.cpuPercent ?? null });
    }
    return usage;
  }

  private read(pid: number): Reading | null {
    const before = this.readings.get(pid);
    const found = readProc(pid);
    if (!found) {
      this.readings.delete(pid);
      return null;
    }
    const at = this.now();
    const seconds = before ? (at - before.at) / 1000 : 0;
    const cpuPercent = before && seconds > 0 ? round1((100 * (found.cpuTicks - before.cpuTicks)) / CLOCK_TICKS_PER_SECOND / seconds) : null;
    const reading = { at, ...found, cpuPercent };
    this.readings.set(pid, reading);
    return reading;
  }
}

const round1 = (value: number) => Math.round(value * 10) / 10;

/** utime + stime (fields 14 and 15 of /proc/PID/stat) and VmRSS. */
export function readProc(pid: number): { cpuTicks: number; rssBytes: number } | null {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const cpuTicks = Number(fields[11]) + Number(fields[12]);
    const rssKiB = Number(/^VmRSS:\s+(\d+) kB$/m.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1]);
    if (!Number.isFinite(cpuTicks) || !Number.isFinite(rssKiB)) return null;
    return { cpuTicks, rssBytes: rssKiB * 1024 };
  } catch {
    return null;
  }
}
