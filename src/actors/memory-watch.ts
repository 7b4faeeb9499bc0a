// In the master, with `start --max-worker-memory`: samples each worker's RSS every 5 s and
// reports one above the ceiling for two samples in a row (worker.over-memory), once; the
// pool replaces it without downtime. Without the flag it samples nothing.
import type { Bus } from '../bus/bus.js';
import { readProc, SAMPLE_EVERY_MS } from '../cluster/resource-sampler.js';

const SAMPLES_OVER = 2;

export function createMemoryWatchActor(deps: { bus: Bus; everyMs?: number }): () => void {
  const { bus } = deps;
  const workers = new Map<number, { slot: number; pid: number; over: number }>();
  let limitBytes: number | null = null;
  let timer: NodeJS.Timeout | null = null;

  function sample(): void {
    for (const [workerId, worker] of workers) {
      const rssBytes = readProc(worker.pid)?.rssBytes ?? 0;
      worker.over = rssBytes > limitBytes! ? worker.over + 1 : 0;
      if (worker.over !== SAMPLES_OVER) continue;
      bus.publish({ type: 'worker.over-memory', workerId, slot: worker.slot, pid: worker.pid, rssBytes, limitBytes: limitBytes! });
    }
  }

  const offs = [
    bus.on('cmd.boot', ({ config }) => {
      limitBytes = config.maxWorkerMemoryBytes;
      if (limitBytes !== null && !timer) timer = setInterval(sample, deps.everyMs ?? Number(process.env.NAUGHT_MEMORY_SAMPLE_MS || SAMPLE_EVERY_MS));
    }),
    bus.on('worker.spawned', ({ workerId, slot, pid }) => { workers.set(workerId, { slot, pid, over: 0 }); }),
    bus.on('worker.exited', ({ workerId }) => { workers.delete(workerId); }),
  ];
  return () => {
    for (const off of offs) off();
    if (timer) clearInterval(timer);
  };
}
