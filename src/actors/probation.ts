// In the daemon: `deploy --probation S`. Once such a deploy's new workers have replaced the
// old, it watches them for S seconds; a worker that crashes, goes offline or is replaced
// by a watchdog meanwhile fails the release, and the previous generation is deployed
// again (cmd.rollback, under the deploy's own request id, so its asker sees it through).
// The outcome is probation.ended: passed, failed (with the reason), or ended by a
// deploy-abort or another deploy, which keep the new release.
import type { Bus } from '../bus/bus.js';
import { systemClock, type Clock } from '../bus/clock.js';
import type { MessageOf } from '../bus/messages.js';

interface Watch { requestId: string; generation: number; since: number; cancel: () => void }

export function createProbationActor(deps: { bus: Bus; clock?: Clock }): () => void {
  const { bus } = deps;
  const clock = deps.clock ?? systemClock;
  const now = clock.now;
  const asked = new Map<string, number>();
  let watch: Watch | null = null;

  const end = (outcome: MessageOf<'probation.ended'>['outcome'], reason: string | null) => {
    if (!watch) return;
    const { requestId, generation, cancel } = watch;
    cancel();
    watch = null;
    bus.publish({ type: 'probation.ended', requestId, generation, outcome, reason });
    if (outcome === 'failed') bus.publish({ type: 'cmd.rollback', requestId, to: null });
  };
  const failed = (slot: number, what: string) => {
    if (watch) end('failed', `worker ${slot} ${what} ${((now() - watch.since) / 1000).toFixed(1)} s after the deploy`);
  };

  const offs = [
    bus.on('cmd.deploy', ({ requestId, probationMs }) => {
      if (watch && watch.requestId !== requestId) end('ended', 'another deploy began');
      if (probationMs) asked.set(requestId, probationMs);
    }),
    bus.on('deploy.settled', ({ requestId, running, generation }) => {
      const ms = asked.get(requestId);
      asked.delete(requestId);
      if (running !== 'new' || !ms) return;
      watch = { requestId, generation, since: now(), cancel: clock.after(ms, () => end('passed', null)) };
    }),
    bus.on('worker.exited', ({ slot, code, signal }) => {
      if (code !== 0 || signal !== null) failed(slot, 'crashed');
    }),
    bus.on('worker.offline', ({ slot }) => failed(slot, 'went offline')),
    bus.on('worker.replacing', ({ slot, reason }) => failed(slot, reason === 'hung' ? 'stopped answering' : 'went over the memory ceiling')),
    bus.on('cmd.deploy-abort', () => end('ended', 'deploy-abort keeps the new release')),
    bus.on('cmd.stop', () => end('ended', 'naught is stopping')),
  ];
  return () => {
    watch?.cancel();
    for (const off of offs) off();
  };
}
