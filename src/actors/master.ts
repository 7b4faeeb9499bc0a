// The cluster primary's actor: feeds commands and worker facts to the pool state machine
// and carries out what it decides. Forking, the clock and the process are passed in.
import type { Worker } from 'node:cluster';
import type { Bus } from '../bus/bus.js';
import { systemClock, type Clock } from '../bus/clock.js';
import type { MessageOf } from '../bus/messages.js';
import { initialPoolState, transition, type PoolEffect, type PoolInput, type PoolState } from '../pool/pool.js';
import { createWorkerProxyActor } from './worker-proxy.js';

export interface MasterDeps {
  bus: Bus;
  /** Sets up what every later fork runs (script, arguments, environment) and where its output goes. */
  setup(boot: MessageOf<'cmd.boot'>): void;
  /** A deploy's environment, cwd and (a rollback's) script, for every fork from now on. */
  configure(change: { env: Record<string, string> | null; cwd: string | null; script: string | null }): void;
  /** Undoes the last configure: the deploy failed or was aborted, and replacements must run the old release. */
  restore(): void;
  fork(slot: number): Worker;
  exit(reason: 'stopped' | 'boot-failed'): void;
  clock?: Clock;
}

export function createMasterActor(deps: MasterDeps): { stop: () => void; pool: () => PoolState } {
  const { bus } = deps;
  const clock = deps.clock ?? systemClock;
  let state = initialPoolState();
  /** The pool's timers, by name, as their cancels. */
  const timers = new Map<'deploy' | 'stop', () => void>();
  /** `start --worker-timeout`, from the boot; the proxies watch their workers' heartbeats with it. */
  let workerTimeoutMs: number | null = null;
  /** What the watchdogs found, for the notice once the pool decides to replace. */
  const findings = new Map<number, string>();
  const graceTimers = new Set<() => void>();
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
        const result = transition(state, next, clock.now());
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
        return createWorkerProxyActor({ bus, workerId: effect.workerId, slot: effect.slot, delayMs: effect.delayMs, fork: deps.fork, heartbeatTimeoutMs: workerTimeoutMs, clock });
      case 'shutdown':
        bus.publish({ type: 'worker.shutdown', workerId: effect.workerId, notify: effect.notify });
        return;
      case 'kill':
        bus.publish({ type: 'worker.kill', workerId: effect.workerId });
        return;
      case 'configure':
        return deps.configure(effect);
      case 'start-timer': {
        timers.get(effect.timer)?.();
        const input: PoolInput = effect.timer === 'deploy' ? { type: 'deploy-timeout' } : { type: 'stop-timeout' };
        timers.set(effect.timer, clock.after(effect.ms, () => dispatch(input)));
        return;
      }
      case 'cancel-timer':
        timers.get(effect.timer)?.();
        timers.delete(effect.timer);
        return;
      case 'backoff':
        bus.publish({
          type: 'notice', code: 'WORKER_BACKOFF',
          message: `Worker ${effect.slot} crashed ${effect.failures} times in a row; restarting it in ${effect.delayMs} ms.`,
        });
        return;
      case 'settled':
        bus.publish({ type: 'deploy.settled', requestId: effect.requestId, running: effect.running, generation: effect.generation });
        return;
      case 'restore':
        return deps.restore();
      case 'replacing': {
        bus.publish({ type: 'worker.replacing', workerId: effect.workerId, slot: effect.slot, reason: effect.reason });
        const message = findings.get(effect.workerId);
        if (message) bus.publish({ type: 'notice', code: effect.reason === 'hung' ? 'WORKER_HUNG' : 'WORKER_OVER_MEMORY', message });
        // A hung worker whose replacement does not come online in as long again is killed regardless.
        if (effect.reason === 'hung' && workerTimeoutMs !== null) {
          const cancel = clock.after(workerTimeoutMs, () => {
            graceTimers.delete(cancel);
            dispatch({ type: 'retire-now', workerId: effect.workerId });
          });
          graceTimers.add(cancel);
        }
        return;
      }
      case 'exit':
        for (const cancel of [...timers.values(), ...graceTimers]) cancel();
        return deps.exit(effect.reason);
      default: {
        const never: never = effect;
        throw new Error(`unknown pool effect ${JSON.stringify(never)}`);
      }
    }
  }

  const offs = [
    bus.on('cmd.boot', (boot) => {
      workerTimeoutMs = boot.config.workerTimeoutMs;
      deps.setup(boot);
      dispatch({ type: 'boot', workerCount: boot.config.workerCount, timeoutMs: boot.config.bootTimeoutMs, generation: boot.generation });
    }),
    bus.on('cmd.deploy', ({ requestId, workerCount, env, cwd, timeoutMs, script, batchSize }) => dispatch({
      type: 'deploy', requestId, workerCount, env, cwd, timeoutMs, script: script ?? null, batchSize: batchSize ?? null,
    })),
    bus.on('cmd.deploy-abort', ({ requestId }) => dispatch({ type: 'deploy-abort', requestId })),
    bus.on('cmd.stop', ({ requestId, timeoutMs }) => dispatch({ type: 'stop', requestId, timeoutMs })),
    bus.on('cmd.status', ({ requestId }) => dispatch({ type: 'status', requestId })),
    bus.on('worker.online', ({ workerId }) => dispatch({ type: 'online', workerId })),
    bus.on('worker.offline', ({ workerId }) => dispatch({ type: 'offline', workerId })),
    bus.on('worker.exited', ({ workerId }) => {
      findings.delete(workerId);
      dispatch({ type: 'exit', workerId });
    }),
    bus.on('worker.hung', ({ workerId, slot, pid, silentMs }) => {
      // The limit as given, not the silence measured (up to a check later): the line names the setting.
      findings.set(workerId, `Worker ${slot} (pid ${pid}) stopped answering for ${(workerTimeoutMs ?? silentMs) / 1000} s; replacing it.`);
      dispatch({ type: 'replace', workerId, reason: 'hung' });
    }),
    bus.on('worker.over-memory', ({ workerId, slot, pid, rssBytes, limitBytes }) => {
      const mib = (bytes: number) => `${Math.round(bytes / 2 ** 20)} MiB`;
      findings.set(workerId, `Worker ${slot} (pid ${pid}) holds ${mib(rssBytes)}, over --max-worker-memory ${mib(limitBytes)}; replacing it, without downtime.`);
      dispatch({ type: 'replace', workerId, reason: 'memory' });
    }),
  ];
  return { stop: () => { for (const off of offs) off(); }, pool: () => state };
}
