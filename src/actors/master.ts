// The cluster primary's actor: feeds commands and worker facts to the pool state machine
// and carries out what it decides. Forking, the clock and the process are passed in.
import type { Worker } from 'node:cluster';
import type { Bus } from '../bus/bus.js';
import type { MessageOf } from '../bus/messages.js';
import { initialPoolState, transition, type PoolEffect, type PoolInput, type PoolState } from '../pool/pool.js';
import { createWorkerProxyActor } from './worker-proxy.js';

export interface MasterDeps {
  bus: Bus;
  /** Sets up what every later fork runs (script, arguments, environment) and where its output goes. */
  setup(boot: MessageOf<'cmd.boot'>): void;
  configure(change: { env: Record<string, string> | null; cwd: string | null }): void;
  fork(slot: number): Worker;
  exit(reason: 'stopped' | 'boot-failed'): void;
  now?: () => number;
}

export function createMasterActor(deps: MasterDeps): { stop: () => void; pool: () => PoolState } {
  const { bus } = deps;
  const now = deps.now ?? Date.now;
  let state = initialPoolState();
  const timers = new Map<'deploy' | 'stop', NodeJS.Timeout>();
  const inbox: PoolInput[] = [];
  let running = false;

  // Effects can make facts synchronously (a worker never forked exits at once), so inputs
  // queue up and are applied one at a time.
  function dispatch(input: PoolInput): void {
    inbox.push(input);
    if (running) return;
    running = true;
    try {
      for (let next = inbox.shift(); next; next = inbox.shift()) {
        const result = transition(state, next, now());
        state = result.state;
        for (const effect of result.effects) perform(effect);
      }
    } finally {
      running = false;
    }
  }

  function perform(effect: PoolEffect): void {
    switch (effect.type) {
      case 'event': {
        const { event, waitingFor, count, requestId } = effect;
        if (requestId === null) bus.publish({ type: 'pool.event', event, waitingFor, count });
        else bus.publish({ type: 'pool.reply', requestId, event, waitingFor, count });
        return;
      }
      case 'spawn':
        return createWorkerProxyActor({ bus, workerId: effect.workerId, slot: effect.slot, delayMs: effect.delayMs, fork: deps.fork });
      case 'shutdown':
        bus.publish({ type: 'worker.shutdown', workerId: effect.workerId, notify: effect.notify });
        return;
      case 'kill':
        bus.publish({ type: 'worker.kill', workerId: effect.workerId });
        return;
      case 'configure':
        return deps.configure(effect);
      case 'start-timer': {
        clearTimeout(timers.get(effect.timer));
        const input: PoolInput = effect.timer === 'deploy' ? { type: 'deploy-timeout' } : { type: 'stop-timeout' };
        timers.set(effect.timer, setTimeout(() => dispatch(input), effect.ms));
        return;
      }
      case 'cancel-timer':
        clearTimeout(timers.get(effect.timer));
        timers.delete(effect.timer);
        return;
      case 'backoff':
        bus.publish({
          type: 'notice', code: 'WORKER_BACKOFF',
          message: `Worker ${effect.slot} crashed ${effect.failures} times in a row; restarting it in ${effect.delayMs} ms.`,
        });
        return;
      case 'settled':
        bus.publish({ type: 'deploy.settled', requestId: effect.requestId, running: effect.running });
        return;
      case 'exit':
        for (const timer of timers.values()) clearTimeout(timer);
        return deps.exit(effect.reason);
      default: {
        const never: never = effect;
        throw new Error(`unknown pool effect ${JSON.stringify(never)}`);
      }
    }
  }

  const offs = [
    bus.on('cmd.boot', (boot) => {
      deps.setup(boot);
      dispatch({ type: 'boot', workerCount: boot.config.workerCount, timeoutMs: boot.config.bootTimeoutMs });
    }),
    bus.on('cmd.deploy', ({ requestId, workerCount, env, cwd, timeoutMs }) => dispatch({ type: 'deploy', requestId, workerCount, env, cwd, timeoutMs })),
    bus.on('cmd.deploy-abort', ({ requestId }) => dispatch({ type: 'deploy-abort', requestId })),
    bus.on('cmd.stop', ({ requestId, timeoutMs }) => dispatch({ type: 'stop', requestId, timeoutMs })),
    bus.on('cmd.status', ({ requestId }) => dispatch({ type: 'status', requestId })),
    bus.on('worker.online', ({ workerId }) => dispatch({ type: 'online', workerId })),
    bus.on('worker.offline', ({ workerId }) => dispatch({ type: 'offline', workerId })),
    bus.on('worker.exited', ({ workerId }) => dispatch({ type: 'exit', workerId })),
  ];
  return { stop: () => { for (const off of offs) off(); }, pool: () => state };
}
