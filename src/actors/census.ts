// In the master: what each worker is beyond the pool's counts (its pid, age, restarts,
// last exit, memory, CPU and event-loop lag), for `status --json`, `status --workers` and
// metrics plugins. It keeps facts from the bus as they pass, and only when cmd.inspect
// asks does it sample /proc and ask the workers for their lag and heap, answering with
// master.census: nothing here runs while nobody asks.
import type { Bus } from '../bus/bus.js';
import { systemClock, type Clock } from '../bus/clock.js';
import type { EventLoopLag, PoolReport, WorkerReport } from '../bus/messages.js';
import { ResourceSampler } from '../cluster/resource-sampler.js';
import { countWorkers, type PoolState } from '../pool/pool.js';
// A report waits this long for the workers' fresh metrics; a slower one (a blocked loop)
// shows its previous figures now and the block in the next report.
import { METRICS_ANSWER_WAIT_MS } from '../supervision/constants.js';

interface SlotHistory { restarts: number; lastExit: WorkerReport['lastExit'] }

export function createCensusActor(deps: { bus: Bus; pool: () => PoolState; clock?: Clock }): () => void {
  const { bus, pool } = deps;
  const clock = deps.clock ?? systemClock;
  const now = clock.now;
  const sampler = new ResourceSampler(now);
  const forked = new Map<number, { pid: number; at: number }>();
  const metrics = new Map<number, { lagMs: EventLoopLag; heapUsedBytes: number }>();
  const slots = new Map<number, SlotHistory>();
  const requesters = new Map<string, string>();
  /** Reports waiting for fresh metrics, each told of every worker that reported or exited. */
  const waiters = new Set<(workerId: number) => void>();
  const historyOf = (slot: number) => slots.get(slot) ?? slots.set(slot, { restarts: 0, lastExit: null }).get(slot)!;

  const offs = [
    bus.on('worker.spawned', ({ workerId, slot, pid }) => {
      forked.set(workerId, { pid, at: now() });
      if (pool().workers.find((worker) => worker.id === workerId)?.spawnedBy === 'replacement') historyOf(slot).restarts++;
    }),
    bus.on('worker.exited', ({ workerId, slot, code, signal }) => {
      forked.delete(workerId);
      metrics.delete(workerId);
      for (const heard of waiters) heard(workerId);
      historyOf(slot).lastExit = { code, signal, at: new Date(now()).toISOString() };
    }),
    bus.on('worker.metrics', ({ workerId, lagMs, heapUsedBytes }) => {
      metrics.set(workerId, { lagMs, heapUsedBytes });
      for (const heard of waiters) heard(workerId);
    }),
    bus.on('cmd.deploy', ({ requestId }, envelope) => { requesters.set(requestId, envelope.sender); }),
    bus.on('deploy.settled', ({ requestId }) => { requesters.delete(requestId); }),
    bus.on('pool.reply', ({ requestId }) => { requesters.delete(requestId); }), // a refused deploy never settles
    bus.on('cmd.inspect', ({ requestId }) => { void answer(requestId); }),
  ];

  async function answer(requestId: string): Promise<void> {
    const live = pool().workers.filter((worker) => forked.has(worker.id));
    // Only workers that report (naught/worker's, which report once at online()) are asked.
    const reporters = live.map((worker) => worker.id).filter((id) => metrics.has(id));
    const fresh = freshMetrics(reporters);
    if (reporters.length > 0) bus.publish({ type: 'worker.metrics-asked', requestId, workerIds: reporters });
    const [usage] = await Promise.all([sampler.sample([process.pid, ...live.map((worker) => forked.get(worker.id)!.pid)]), fresh]);
    const state = pool();
    const workers = state.workers.map((worker): WorkerReport => {
      const fork = forked.get(worker.id);
      const used = fork ? usage.get(fork.pid) : undefined;
      const measured = metrics.get(worker.id);
      const history = historyOf(worker.slot);
      return {
        slot: worker.slot,
        pid: fork?.pid ?? 0,
        state: fork ? worker.state : 'waiting',
        generation: worker.generation,
        uptimeSeconds: fork ? Math.round((now() - fork.at) / 1000) : 0,
        restarts: history.restarts,
        lastExit: history.lastExit,
        rssBytes: used?.rssBytes ?? null,
        cpuPercent: used?.cpuPercent ?? null,
        lagMs: measured?.lagMs ?? null,
        heapUsedBytes: measured?.heapUsedBytes ?? null,
      };
    }).sort((a, b) => a.slot - b.slot || a.generation - b.generation);
    bus.publish({
      type: 'master.census', requestId,
      master: { pid: process.pid, rssBytes: usage.get(process.pid)?.rssBytes ?? process.memoryUsage().rss },
      pool: poolReport(state),
      workers,
    });
  }

  /** Settles once each of these workers has reported again (or exited), or after METRICS_ANSWER_WAIT_MS. */
  function freshMetrics(workerIds: number[]): Promise<void> {
    if (workerIds.length === 0) return Promise.resolve();
    return new Promise((resolve) => {
      const pending = new Set(workerIds);
      const done = () => {
        cancel();
        waiters.delete(heard);
        resolve();
      };
      const heard = (workerId: number) => { if (pending.delete(workerId) && pending.size === 0) done(); };
      const cancel = clock.after(METRICS_ANSWER_WAIT_MS, done);
      waiters.add(heard);
    });
  }

  function poolReport(state: PoolState): PoolReport {
    const deploy = state.deploy;
    return {
      counts: countWorkers(state.workers),
      waitingFor: state.waitingFor,
      workerCount: state.workerCount,
      deploy: deploy && (state.waitingFor === 'new' || state.waitingFor === 'old') ? {
        startedAt: new Date(deploy.startedAt).toISOString(),
        phase: state.waitingFor,
        targetWorkerCount: state.workerCount,
        requestedBy: deploy.requestId === null ? null : requesters.get(deploy.requestId) ?? null,
      } : null,
    };
  }

  return () => { for (const off of offs) off(); };
}

