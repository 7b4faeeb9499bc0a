// The worker pool as a pure state machine: transition(state, input) → { state, effects }.
// It decides; the master actor forks, signals and keeps time. Event order and counts
// follow naught 1.6's master.js, with its gaps closed: crashes during a deploy are
// resuscitated, an 'offline' worker exiting during a stop is counted, a new worker that
// dies rolls the deploy back at once, and crash loops back off.
import type { Counts, PoolEventName, WaitingFor, WorkerState } from '../bus/messages.js';
import { nextBackoff, WORKER_SERVED_MS } from '../supervision/backoff.js';

/** Why a worker is dying decides which event its exit is. */
type DyingReason = 'old' | 'stop' | 'offline';

export interface PoolWorker {
  id: number;
  slot: number;
  /** `destroyed`: killed by an abort, no longer counted, waiting for its exit. */
  state: WorkerState | 'destroyed';
  /** Spawned by a boot or deploy (`generation` tells which) or as a replacement. */
  spawnedBy: 'deploy' | 'replacement';
  generation: number;
  dyingReason: DyingReason | null;
  /** Being replaced while it serves on (hung, or over the memory ceiling): goes once its replacement is online. */
  retiring: ReplaceReason | null;
}

/** Why a serving worker is replaced by the watchdogs: its loop stopped answering, or it holds too much memory. */
export type ReplaceReason = 'hung' | 'memory';

type AbortOutcome = 'Ready' | 'DeployFailed' | 'BootFailed';

/** `deploy --batch-size`: slots are replaced `size` at a time, in order. */
export interface Batch {
  size: number;
  /** The next slot to replace. */
  next: number;
  /** The slots of the batch under way. */
  current: number[];
  /** The generation the old workers run, which a failed batch deploy goes back to. */
  previous: number;
}

export interface PoolState {
  workers: PoolWorker[];
  waitingFor: WaitingFor;
  workerCount: number;
  generation: number;
  nextId: number;
  /** The boot or deploy under way, and what to announce once its new workers are destroyed. */
  /** requestId: the deploy's; null for the boot. */
  deploy: { aborting: AbortOutcome | null; requestId: string | null; startedAt: number; batch: Batch | null } | null;
  /** Per slot: consecutive crashes and since when its worker has been online. */
  slots: Record<number, { failures: number; onlineSince: number | null }>;
  /** A stop's kill deadline is set. */
  stopDeadline: boolean;
}

export type PoolInput =
  /** generation: the number the boot's workers get (1, or where the daemon's history goes on). */
  | { type: 'boot'; workerCount: number; timeoutMs: number | null; generation?: number }
  | {
    type: 'deploy'; requestId: string; workerCount: number; env: Record<string, string> | null; cwd: string | null;
    script?: string | null; timeoutMs: number | null; batchSize?: number | null;
  }
  | { type: 'deploy-abort'; requestId: string }
  | { type: 'deploy-timeout' }
  | { type: 'stop'; requestId: string; timeoutMs: number | null }
  | { type: 'stop-timeout' }
  | { type: 'status'; requestId: string }
  | { type: 'online'; workerId: number }
  | { type: 'offline'; workerId: number }
  | { type: 'exit'; workerId: number }
  /** A watchdog's finding: start a replacement, and retire this worker once it is online. */
  | { type: 'replace'; workerId: number; reason: ReplaceReason }
  /** A hung worker's grace is over: kill it whether or not its replacement is online. */
  | { type: 'retire-now'; workerId: number };

export type PoolEffect =
  | { type: 'event'; event: PoolEventName; waitingFor: WaitingFor; count: Counts; requestId: string | null }
  | { type: 'spawn'; workerId: number; slot: number; delayMs: number }
  /** `notify`: send 'shutdown' first; a worker that announced 'offline' is only disconnected. */
  | { type: 'shutdown'; workerId: number; notify: boolean }
  | { type: 'kill'; workerId: number }
  /** script: a rollback's release; null: the script naught was started with. */
  | { type: 'configure'; env: Record<string, string> | null; cwd: string | null; script: string | null }
  | { type: 'start-timer'; timer: 'deploy' | 'stop'; ms: number }
  | { type: 'cancel-timer'; timer: 'deploy' | 'stop' }
  | { type: 'backoff'; slot: number; failures: number; delayMs: number }
  | { type: 'exit'; reason: 'stopped' | 'boot-failed' }
  /** A deploy (not a boot) is over, and which release its workers run. */
  | { type: 'settled'; requestId: string; running: 'new' | 'old'; generation: number }
  /** A deploy is being undone: forks from now on run the old release again (env, cwd, script). */
  | { type: 'restore' }
  /** A watchdog's replacement of a serving worker begins. */
  | { type: 'replacing'; workerId: number; slot: number; reason: ReplaceReason };

export const initialPoolState = (): PoolState => ({
  workers: [], waitingFor: null, workerCount: 0, generation: 0, nextId: 1, deploy: null, slots: {}, stopDeadline: false,
});

export function countWorkers(workers: readonly PoolWorker[]): Counts {
  const count: Counts = { booting: 0, online: 0, dying: 0, new_online: 0 };
  for (const worker of workers) if (worker.state !== 'destroyed') count[worker.state]++;
  return count;
}

export function transition(previous: PoolState, input: PoolInput, now: number): { state: PoolState; effects: PoolEffect[] } {
  const run = new Transition(structuredClone(previous), now);
  run.apply(input);
  return { state: run.state, effects: run.effects };
}

class Transition {
  readonly effects: PoolEffect[] = [];
  constructor(readonly state: PoolState, private readonly now: number) {}

  apply(input: PoolInput): void {
    switch (input.type) {
      case 'boot': return this.boot(input.workerCount, input.timeoutMs, input.generation ?? 1);
      case 'deploy': return this.deploy(input);
      case 'deploy-abort': return this.abortRequested(input.requestId);
      case 'deploy-timeout': return this.deployTimedOut();
      case 'stop': return this.stop(input.requestId, input.timeoutMs);
      case 'stop-timeout': return this.stopTimedOut();
      case 'status': return this.emit('Status', input.requestId);
      case 'online': return this.online(input.workerId);
      case 'offline': return this.offline(input.workerId);
      case 'exit': return this.exited(input.workerId);
      case 'replace': return this.replace(input.workerId, input.reason);
      case 'retire-now': return this.retireNow(input.workerId);
      default: return assertNeverInput(input);
    }
  }

  // --- commands -------------------------------------------------------------------

  private boot(workerCount: number, timeoutMs: number | null, generation: number): void {
    this.state.workerCount = workerCount;
    this.state.generation = generation - 1;
    this.emit('Bootup');
    this.startDeploy(null);
    if (timeoutMs !== null && this.state.deploy !== null) this.effects.push({ type: 'start-timer', timer: 'deploy', ms: timeoutMs });
  }

  private deploy(input: Extract<PoolInput, { type: 'deploy' }>): void {
    if (this.state.waitingFor === 'shutdown') return this.emit('ErrorShuttingDown', input.requestId);
    if (this.state.waitingFor !== null) return this.emit('ErrorDeployInProgress', input.requestId);
    if (input.workerCount > 0) this.state.workerCount = input.workerCount;
    this.effects.push({ type: 'configure', env: input.env, cwd: input.cwd, script: input.script ?? null });
    this.startDeploy(input.requestId, input.batchSize ?? null);
    if (input.timeoutMs !== null) this.effects.push({ type: 'start-timer', timer: 'deploy', ms: input.timeoutMs });
  }

  private abortRequested(requestId: string): void {
    const { waitingFor, deploy } = this.state;
    if (deploy === null || (waitingFor !== 'new' && waitingFor !== 'old')) {
      return this.emit('ErrorNoDeployInProgress', requestId);
    }
    this.effects.push({ type: 'cancel-timer', timer: 'deploy' });
    this.abort('Ready');
  }

  private deployTimedOut(): void {
    if (this.state.deploy === null || this.state.deploy.aborting !== null) return;
    this.emit('Timeout');
    this.abort(this.failure());
  }

  private stop(requestId: string, timeoutMs: number | null): void {
    if (this.state.waitingFor === 'shutdown') {
      this.emit('AlreadyShuttingDown', requestId);
      // Beyond naught, whose advice to retry with --timeout could never work: the first deadline given applies.
      return this.armStopDeadline(timeoutMs);
    }
    this.effects.push({ type: 'cancel-timer', timer: 'deploy' });
    this.state.deploy = null;
    this.state.waitingFor = 'shutdown';
    for (const state of ['booting', 'online', 'new_online'] as const) {
      for (const worker of this.workersIn(state)) this.shutdown(worker, 'stop');
    }
    this.armStopDeadline(timeoutMs);
    this.exitIfStopped();
  }

  private armStopDeadline(timeoutMs: number | null): void {
    if (timeoutMs === null || this.state.stopDeadline) return;
    this.state.stopDeadline = true;
    this.effects.push({ type: 'start-timer', timer: 'stop', ms: timeoutMs });
  }

  private stopTimedOut(): void {
    if (this.state.waitingFor !== 'shutdown') return;
    this.emit('Timeout');
    this.destroyDying();
  }

  // --- facts from workers ---------------------------------------------------------

  private online(workerId: number): void {
    const worker = this.find(workerId);
    if (worker?.state !== 'booting') return;
    this.slot(worker.slot).onlineSince = this.now;
    if (this.isNew(worker)) {
      worker.state = 'new_online';
      this.emit('NewOnline');
      return this.maybeReplaceOld();
    }
    worker.state = 'online';
    this.emit('WorkerOnline');
    this.retireReplaced(worker);
    this.revertSlot(worker);
    if (this.state.waitingFor === 'old' && this.isOld(worker)) return this.shutdown(worker, 'old');
    if (this.state.waitingFor === null && this.count().booting === 0) this.emit('Ready');
  }

  private offline(workerId: number): void {
    const worker = this.find(workerId);
    if (!worker || worker.state === 'dying' || worker.state === 'destroyed') return;
    if (this.isNew(worker) && this.state.waitingFor === 'new') {
      // A new release that gives up before the deploy is done fails the deploy.
      worker.state = 'dying';
      worker.dyingReason = 'offline';
      this.emit('WorkerOffline');
      return this.abort(this.failure());
    }
    worker.state = 'dying';
    worker.dyingReason = 'offline';
    this.emit('WorkerOffline');
    // Disconnecting stops new connections; work in flight may finish.
    this.effects.push({ type: 'shutdown', workerId: worker.id, notify: false });
    if (this.state.waitingFor === 'shutdown') return;
    this.spawn(worker.slot, 'replacement', 0, worker.generation);
    this.emit('SpawnNew');
  }

  private exited(workerId: number): void {
    const worker = this.find(workerId);
    if (!worker) return;
    this.remove(worker);
    if (worker.state === 'destroyed') {
      this.emit('NewDestroyed');
      this.finishAbortIfDone();
      if (this.state.waitingFor === 'shutdown') this.exitIfStopped();
      return;
    }
    if (worker.state === 'dying') return this.dyingExited(worker);
    if (worker.retiring !== null) {
      // Its replacement is already on its way: a second one would be one too many.
      this.emit('WorkerDeath');
      return;
    }
    if (this.isNew(worker) && this.state.waitingFor === 'new') {
      this.emit('NewDeath');
      return this.abort(this.failure());
    }
    this.resuscitate(worker);
  }

  private dyingExited(worker: PoolWorker): void {
    const shutdownByUs = worker.dyingReason !== 'offline' || this.state.waitingFor === 'shutdown';
    this.emit(shutdownByUs ? 'OldExit' : 'WorkerDeath');
    if (this.state.waitingFor === 'shutdown') return this.exitIfStopped();
    if (this.state.deploy?.aborting) return this.finishAbortIfDone();
    if (this.state.waitingFor === 'old') this.finishDeployIfOldGone();
  }

  /** A crash outside naught's deploy bookkeeping: its replacement is counted in WorkerDeath. */
  private resuscitate(worker: PoolWorker): void {
    const slot = this.slot(worker.slot);
    const { failures, delayMs } = nextBackoff(slot.failures, slot.onlineSince, this.now, WORKER_SERVED_MS);
    slot.failures = failures;
    slot.onlineSince = null;
    this.spawn(worker.slot, 'replacement', delayMs, worker.generation);
    this.emit('WorkerDeath');
    if (delayMs > 0) this.effects.push({ type: 'backoff', slot: worker.slot, failures, delayMs });
  }

  // --- watchdogs ------------------------------------------------------------------

  /**
   * Outside deploys and stops only: a deploy replaces every worker anyway, and a stop
   * ends them. The worker serves on (an 'offline' one would not) until its replacement
   * is online, so no capacity is lost meanwhile.
   */
  private replace(workerId: number, reason: ReplaceReason): void {
    const worker = this.find(workerId);
    if (worker?.state !== 'online' || worker.retiring !== null || this.state.waitingFor !== null) return;
    worker.retiring = reason;
    this.effects.push({ type: 'replacing', workerId, slot: worker.slot, reason });
    this.spawn(worker.slot, 'replacement', 0, worker.generation);
    this.emit('SpawnNew');
  }

  /** The replacement is online: a worker over the memory ceiling drains, a hung one is killed (it cannot drain). */
  private retireReplaced(replacement: PoolWorker): void {
    const old = this.state.workers.find((w) => w.slot === replacement.slot && w.retiring !== null && w.state === 'online');
    if (!old) return;
    if (old.retiring === 'memory') return this.shutdown(old, 'old');
    this.retireNow(old.id);
  }

  private retireNow(workerId: number): void {
    const worker = this.find(workerId);
    if (worker?.retiring !== 'hung' || worker.state !== 'online') return;
    worker.state = 'dying';
    worker.dyingReason = 'old';
    this.emit('DestroyOld');
    this.effects.push({ type: 'kill', workerId });
  }

  // --- deploys --------------------------------------------------------------------

  /** requestId: the deploy's; null for the boot. */
  private startDeploy(requestId: string | null, batchSize: number | null = null): void {
    const previous = this.state.generation;
    this.state.generation++;
    const batch = batchSize && batchSize < this.state.workerCount ? { size: batchSize, next: 0, current: [], previous } : null;
    this.state.deploy = { aborting: null, requestId, startedAt: this.now, batch };
    this.state.waitingFor = 'new';
    if (batch) return this.spawnBatch(batch);
    for (let slot = 0; slot < this.state.workerCount; slot++) {
      this.spawn(slot, 'deploy', 0, this.state.generation);
      this.emit('SpawnNew');
    }
    this.maybeReplaceOld();
  }

  private spawnBatch(batch: Batch): void {
    batch.current = [];
    for (; batch.next < this.state.workerCount && batch.current.length < batch.size; batch.next++) {
      batch.current.push(batch.next);
      this.spawn(batch.next, 'deploy', 0, this.state.generation);
      this.emit('SpawnNew');
    }
  }

  /** Once every new worker is online, the old ones are asked to go. */
  private maybeReplaceOld(): void {
    if (this.state.waitingFor !== 'new' || this.state.deploy?.aborting) return;
    const fresh = this.state.workers.filter((w) => this.isNew(w));
    if (fresh.some((w) => w.state !== 'new_online')) return;
    this.state.waitingFor = 'old';
    const batch = this.state.deploy!.batch;
    // A batch retires its own slots' old workers; the last one, every old worker left (a smaller count's too).
    const retiring = (w: PoolWorker) => !batch || batch.next >= this.state.workerCount || batch.current.includes(w.slot);
    for (const worker of this.state.workers.filter((w) => this.isOld(w) && (w.state === 'online' || w.state === 'booting') && retiring(w))) {
      this.shutdown(worker, 'old');
    }
    this.finishDeployIfOldGone();
  }

  private finishDeployIfOldGone(): void {
    if (this.state.workers.some((w) => w.state === 'dying' && w.dyingReason === 'old')) return;
    const batch = this.state.deploy?.batch;
    if (batch && batch.next < this.state.workerCount) {
      // This batch's old workers are gone: at most count + size workers, so the next may start.
      this.state.waitingFor = 'new';
      this.spawnBatch(batch);
      return;
    }
    this.effects.push({ type: 'cancel-timer', timer: 'deploy' });
    const { requestId } = this.state.deploy ?? { requestId: null };
    this.state.waitingFor = null;
    this.state.deploy = null;
    for (const worker of this.state.workers) if (worker.state === 'new_online') worker.state = 'online';
    // A new release starts with a clean record: the old one's crashes are not its own.
    for (const slot of Object.values(this.state.slots)) slot.failures = 0;
    if (requestId !== null) this.effects.push({ type: 'settled', requestId, running: 'new', generation: this.state.generation });
    this.emit('Ready');
  }

  private abort(outcome: AbortOutcome): void {
    const deploy = this.state.deploy!;
    if (deploy.batch) return this.abortBatches(outcome, deploy.batch);
    if (this.state.waitingFor === 'old') {
      this.destroyDying();
      if (outcome !== 'BootFailed') this.emit(outcome);
      return;
    }
    if (deploy.aborting !== null) return;
    deploy.aborting = outcome;
    this.effects.push({ type: 'restore' });
    const fresh = this.state.workers.filter((w) => this.isNew(w) && w.state !== 'destroyed');
    const order = [...fresh.filter((w) => w.state === 'new_online'), ...fresh.filter((w) => w.state !== 'new_online')];
    for (const worker of order) {
      worker.state = 'destroyed';
      this.emit('DestroyNew');
      this.effects.push({ type: 'kill', workerId: worker.id });
    }
    this.finishAbortIfDone();
  }

  /**
   * A batch deploy undone: the booting new workers are killed, a new worker whose slot
   * still has its old one too, and the slots already replaced get a worker of the old
   * release back, their new worker draining once it is online. Every worker ends on the
   * old release, with no slot ever empty.
   */
  private abortBatches(outcome: AbortOutcome, batch: Batch): void {
    const deploy = this.state.deploy!;
    if (deploy.aborting !== null) return;
    deploy.aborting = outcome;
    this.effects.push({ type: 'restore' });
    // Waiting for the old release's workers now: none of them may be taken for one to retire.
    this.state.waitingFor = 'new';
    const fresh = this.state.workers.filter((w) => this.isNew(w) && w.state !== 'destroyed' && w.state !== 'dying');
    const served = (slot: number) => this.state.workers.some((w) => w.slot === slot && w.generation < this.state.generation && w.state === 'online');
    for (const worker of fresh) {
      if (worker.state === 'new_online' && !served(worker.slot)) {
        this.spawn(worker.slot, 'replacement', 0, batch.previous);
        this.emit('SpawnNew');
      } else {
        worker.state = 'destroyed';
        this.emit('DestroyNew');
        this.effects.push({ type: 'kill', workerId: worker.id });
      }
    }
    this.finishAbortIfDone();
  }

  /** A worker of the old release is back in a slot that a failed batch deploy replaced: that slot's new worker drains. */
  private revertSlot(worker: PoolWorker): void {
    const deploy = this.state.deploy;
    if (!deploy?.batch || deploy.aborting === null || worker.generation >= this.state.generation) return;
    const replaced = this.state.workers.find((w) => w.slot === worker.slot && this.isNew(w) && w.state === 'new_online');
    if (replaced) this.shutdown(replaced, 'old');
  }

  private finishAbortIfDone(): void {
    const deploy = this.state.deploy;
    if (!deploy?.aborting || this.state.workers.some((w) => w.state === 'destroyed')) return;
    if (deploy.batch && this.state.workers.some((w) => w.generation === this.state.generation && w.spawnedBy === 'deploy')) return;
    const outcome = deploy.aborting;
    this.state.deploy = null;
    this.state.waitingFor = null;
    if (outcome === 'BootFailed') {
      this.effects.push({ type: 'exit', reason: 'boot-failed' });
      return;
    }
    if (deploy.requestId !== null) this.effects.push({ type: 'settled', requestId: deploy.requestId, running: 'old', generation: this.state.generation });
    this.emit(outcome);
  }

  // --- helpers --------------------------------------------------------------------

  private destroyDying(): void {
    for (const worker of this.workersIn('dying')) {
      this.emit('DestroyOld');
      this.effects.push({ type: 'kill', workerId: worker.id });
    }
  }

  private shutdown(worker: PoolWorker, reason: DyingReason): void {
    worker.state = 'dying';
    worker.dyingReason = reason;
    this.emit('ShutdownOld');
    this.effects.push({ type: 'shutdown', workerId: worker.id, notify: true });
  }

  private exitIfStopped(): void {
    if (this.state.workers.length === 0) {
      this.effects.push({ type: 'cancel-timer', timer: 'stop' });
      this.effects.push({ type: 'exit', reason: 'stopped' });
    }
  }

  /** A replacement takes the generation of the worker it stands in for. */
  private spawn(slot: number, spawnedBy: PoolWorker['spawnedBy'], delayMs: number, generation: number): void {
    const worker: PoolWorker = { id: this.state.nextId++, slot, state: 'booting', spawnedBy, generation, dyingReason: null, retiring: null };
    this.state.workers.push(worker);
    this.effects.push({ type: 'spawn', workerId: worker.id, slot, delayMs });
  }

  /** How the boot or deploy under way ends when a new worker fails it. */
  private failure(): AbortOutcome {
    return this.state.deploy?.requestId === null ? 'BootFailed' : 'DeployFailed';
  }

  /** Spawned by the boot or deploy under way. */
  private isNew(worker: PoolWorker): boolean {
    return worker.spawnedBy === 'deploy' && worker.generation === this.state.generation && this.state.deploy !== null;
  }

  /** Running a release that the deploy under way replaces (replacements of old workers too). */
  private isOld(worker: PoolWorker): boolean {
    return this.state.deploy !== null && worker.generation < this.state.generation;
  }

  private slot(slot: number) {
    return (this.state.slots[slot] ??= { failures: 0, onlineSince: null });
  }

  private find(workerId: number): PoolWorker | undefined {
    return this.state.workers.find((w) => w.id === workerId);
  }

  private workersIn(state: WorkerState): PoolWorker[] {
    return this.state.workers.filter((w) => w.state === state);
  }

  private remove(worker: PoolWorker): void {
    this.state.workers = this.state.workers.filter((w) => w !== worker);
  }

  private count(): Counts {
    return countWorkers(this.state.workers);
  }

  private emit(event: PoolEventName, requestId: string | null = null): void {
    this.effects.push({ type: 'event', event, waitingFor: this.state.waitingFor, count: this.count(), requestId });
  }
}

function assertNeverInput(input: never): never {
  throw new Error(`unknown pool input ${JSON.stringify(input)}`);
}
