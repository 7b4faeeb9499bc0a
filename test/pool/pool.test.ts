import t from 'tap';
import { initialPoolState, transition, type PoolEffect, type PoolInput, type PoolState } from '../../src/pool/pool.js';
import { formatEvent } from '../../src/pool/event-text.js';

/** Feeds inputs to the machine, collecting events in naught's printed form and other effects. */
class Harness {
  state: PoolState = initialPoolState();
  lines: string[] = [];
  effects: PoolEffect[] = [];
  now = 0;

  send(...inputs: PoolInput[]): this {
    for (const input of inputs) {
      const result = transition(this.state, input, this.now);
      this.state = result.state;
      for (const effect of result.effects) {
        if (effect.type === 'event') this.lines.push(formatEvent(effect) + (effect.requestId ? ` (to ${effect.requestId})` : ''));
        else this.effects.push(effect);
      }
    }
    return this;
  }

  take(): string[] {
    const lines = this.lines;
    this.lines = [];
    return lines;
  }

  takeEffects(type: PoolEffect['type']): PoolEffect[] {
    const picked = this.effects.filter((e) => e.type === type);
    this.effects = this.effects.filter((e) => e.type !== type);
    return picked;
  }

  ids(): number[] {
    return this.state.workers.map((w) => w.id);
  }
}

function booted(workerCount: number): Harness {
  const h = new Harness().send({ type: 'boot', workerCount, timeoutMs: null });
  for (const id of h.ids()) h.send({ type: 'online', workerId: id });
  h.take();
  h.effects = [];
  return h;
}

const deploy = (timeoutMs: number | null = null): PoolInput => ({ type: 'deploy', requestId: 'd', workerCount: 0, env: null, cwd: null, timeoutMs });

t.test('boot: Bootup, SpawnNew and NewOnline per worker, then Ready', async (t) => {
  const h = new Harness().send({ type: 'boot', workerCount: 2, timeoutMs: null });
  t.same(h.takeEffects('spawn'), [{ type: 'spawn', workerId: 1, slot: 0, delayMs: 0 }, { type: 'spawn', workerId: 2, slot: 1, delayMs: 0 }]);
  h.send({ type: 'online', workerId: 2 }, { type: 'online', workerId: 1 });
  t.same(h.take(), [
    'Bootup. booting: 0, online: 0, dying: 0, new_online: 0',
    'SpawnNew. booting: 1, online: 0, dying: 0, new_online: 0',
    'SpawnNew. booting: 2, online: 0, dying: 0, new_online: 0',
    'NewOnline. booting: 1, online: 0, dying: 0, new_online: 1',
    'NewOnline. booting: 0, online: 0, dying: 0, new_online: 2',
    'Ready. booting: 0, online: 2, dying: 0, new_online: 0',
  ]);
  t.equal(h.state.waitingFor, null);
});

t.test('a boot whose worker dies before online destroys the others and exits', async (t) => {
  const h = new Harness().send({ type: 'boot', workerCount: 2, timeoutMs: null }).send({ type: 'exit', workerId: 1 });
  t.same(h.take().slice(3), [
    'NewDeath. booting: 1, online: 0, dying: 0, new_online: 0',
    'DestroyNew. booting: 0, online: 0, dying: 0, new_online: 0',
  ]);
  t.same(h.takeEffects('kill'), [{ type: 'kill', workerId: 2 }]);
  h.send({ type: 'exit', workerId: 2 });
  t.same(h.take(), ['NewDestroyed. booting: 0, online: 0, dying: 0, new_online: 0']);
  t.same(h.takeEffects('exit'), [{ type: 'exit', reason: 'boot-failed' }]);
});

t.test('deploy: all new online, then old shut down, then Ready', async (t) => {
  const h = booted(2).send(deploy());
  t.same(h.takeEffects('configure'), [{ type: 'configure', env: null, cwd: null, script: null }]);
  h.send({ type: 'online', workerId: 3 }, { type: 'online', workerId: 4 });
  t.same(h.takeEffects('shutdown'), [{ type: 'shutdown', workerId: 1, notify: true }, { type: 'shutdown', workerId: 2, notify: true }]);
  h.send({ type: 'exit', workerId: 2 }, { type: 'exit', workerId: 1 });
  t.same(h.take(), [
    'SpawnNew. booting: 1, online: 2, dying: 0, new_online: 0',
    'SpawnNew. booting: 2, online: 2, dying: 0, new_online: 0',
    'NewOnline. booting: 1, online: 2, dying: 0, new_online: 1',
    'NewOnline. booting: 0, online: 2, dying: 0, new_online: 2',
    'ShutdownOld. booting: 0, online: 1, dying: 1, new_online: 2',
    'ShutdownOld. booting: 0, online: 0, dying: 2, new_online: 2',
    'OldExit. booting: 0, online: 0, dying: 1, new_online: 2',
    'OldExit. booting: 0, online: 0, dying: 0, new_online: 2',
    'Ready. booting: 0, online: 2, dying: 0, new_online: 0',
  ]);
  t.same(h.state.workers.map((w) => [w.slot, w.state]), [[0, 'online'], [1, 'online']]);
});

t.test('a new worker dying rolls the deploy back and the old keep serving', async (t) => {
  const h = booted(2).send(deploy());
  h.send({ type: 'online', workerId: 3 }, { type: 'exit', workerId: 4 });
  t.same(h.takeEffects('kill'), [{ type: 'kill', workerId: 3 }]);
  h.send({ type: 'exit', workerId: 3 });
  t.same(h.take().slice(3), [
    'NewDeath. booting: 0, online: 2, dying: 0, new_online: 1',
    'DestroyNew. booting: 0, online: 2, dying: 0, new_online: 0',
    'NewDestroyed. booting: 0, online: 2, dying: 0, new_online: 0',
    'DeployFailed. booting: 0, online: 2, dying: 0, new_online: 0',
  ]);
  t.same(h.takeEffects('shutdown'), [], 'no old worker was asked to go');
  t.equal(h.state.waitingFor, null);
});

t.test('refusals answer only their asker', async (t) => {
  const h = booted(1).send(deploy(), { type: 'deploy', requestId: 'second', workerCount: 0, env: null, cwd: null, timeoutMs: null });
  t.same(h.take().slice(1), ['ErrorDeployInProgress. booting: 1, online: 1, dying: 0, new_online: 0 (to second)']);
  const idle = booted(1).send({ type: 'deploy-abort', requestId: 'a' }, { type: 'status', requestId: 's' });
  t.same(idle.take(), [
    'ErrorNoDeployInProgress. booting: 0, online: 1, dying: 0, new_online: 0 (to a)',
    'Status. booting: 0, online: 1, dying: 0, new_online: 0 (to s)',
  ]);
  const stopping = booted(1).send({ type: 'stop', requestId: 's1', timeoutMs: null }, { type: 'stop', requestId: 's2', timeoutMs: null }, deploy());
  t.same(stopping.take().slice(1), [
    'AlreadyShuttingDown. booting: 0, online: 0, dying: 1, new_online: 0 (to s2)',
    'ErrorShuttingDown. booting: 0, online: 0, dying: 1, new_online: 0 (to d)',
  ]);
});

t.test('deploy timeout while waiting for new workers: Timeout, destroy, DeployFailed', async (t) => {
  const h = booted(1).send(deploy(500));
  t.same(h.takeEffects('start-timer'), [{ type: 'start-timer', timer: 'deploy', ms: 500 }]);
  h.send({ type: 'deploy-timeout' }, { type: 'exit', workerId: 2 });
  t.same(h.take().slice(1), [
    'Timeout. booting: 1, online: 1, dying: 0, new_online: 0',
    'DestroyNew. booting: 0, online: 1, dying: 0, new_online: 0',
    'NewDestroyed. booting: 0, online: 1, dying: 0, new_online: 0',
    'DeployFailed. booting: 0, online: 1, dying: 0, new_online: 0',
  ]);
});

t.test('deploy-abort while old workers hang: DestroyOld, Ready, then the exits finish the deploy', async (t) => {
  const h = booted(1).send(deploy(), { type: 'online', workerId: 2 });
  h.take();
  h.send({ type: 'deploy-abort', requestId: 'a' });
  t.same(h.takeEffects('kill'), [{ type: 'kill', workerId: 1 }]);
  h.send({ type: 'exit', workerId: 1 });
  t.same(h.take(), [
    'DestroyOld. booting: 0, online: 0, dying: 1, new_online: 1',
    'Ready. booting: 0, online: 0, dying: 1, new_online: 1',
    'OldExit. booting: 0, online: 0, dying: 0, new_online: 1',
    'Ready. booting: 0, online: 1, dying: 0, new_online: 0',
  ]);
});

t.test('stop asks every worker, then exits; a stop timeout kills the rest', async (t) => {
  const h = booted(2).send({ type: 'stop', requestId: 's', timeoutMs: 1000 });
  t.same(h.takeEffects('shutdown').length, 2);
  h.send({ type: 'exit', workerId: 1 }, { type: 'stop-timeout' });
  t.same(h.takeEffects('kill'), [{ type: 'kill', workerId: 2 }]);
  h.send({ type: 'exit', workerId: 2 });
  t.same(h.take(), [
    'ShutdownOld. booting: 0, online: 1, dying: 1, new_online: 0',
    'ShutdownOld. booting: 0, online: 0, dying: 2, new_online: 0',
    'OldExit. booting: 0, online: 0, dying: 1, new_online: 0',
    'Timeout. booting: 0, online: 0, dying: 1, new_online: 0',
    'DestroyOld. booting: 0, online: 0, dying: 1, new_online: 0',
    'OldExit. booting: 0, online: 0, dying: 0, new_online: 0',
  ]);
  t.same(h.takeEffects('exit'), [{ type: 'exit', reason: 'stopped' }]);
});

t.test('a crash is resuscitated in the same slot, counted in WorkerDeath, then WorkerOnline and Ready', async (t) => {
  const h = booted(2).send({ type: 'exit', workerId: 2 });
  t.same(h.takeEffects('spawn'), [{ type: 'spawn', workerId: 3, slot: 1, delayMs: 0 }]);
  h.send({ type: 'online', workerId: 3 });
  t.same(h.take(), [
    'WorkerDeath. booting: 1, online: 1, dying: 0, new_online: 0',
    'WorkerOnline. booting: 0, online: 2, dying: 0, new_online: 0',
    'Ready. booting: 0, online: 2, dying: 0, new_online: 0',
  ]);
});

t.test('a crash loop backs off: 0, 100, 200, 400 ms …, capped at 30 s, reset by 1 s of serving', async (t) => {
  const h = booted(1);
  const delays: number[] = [];
  for (let i = 0; i < 12; i++) {
    h.send({ type: 'exit', workerId: h.ids()[0]! });
    delays.push((h.takeEffects('spawn')[0] as { delayMs: number }).delayMs);
  }
  t.same(delays, [0, 100, 200, 400, 800, 1600, 3200, 6400, 12800, 25600, 30000, 30000]);
  t.same(h.takeEffects('backoff').at(-1), { type: 'backoff', slot: 0, failures: 12, delayMs: 30000 });
  h.send({ type: 'online', workerId: h.ids()[0]! });
  h.now += 999;
  h.send({ type: 'exit', workerId: h.ids()[0]! });
  t.same(h.takeEffects('spawn'), [{ type: 'spawn', workerId: 14, slot: 0, delayMs: 30000 }], 'dying within 1 s of online is still the loop');
  h.now += 30_000;
  h.send({ type: 'online', workerId: h.ids()[0]! });
  h.now += 1_000;
  h.send({ type: 'exit', workerId: h.ids()[0]! });
  t.same(h.takeEffects('spawn'), [{ type: 'spawn', workerId: 15, slot: 0, delayMs: 0 }], 'a second of serving forgets the loop');
});

t.test("a deploy's new release does not inherit the old one's crashes", async (t) => {
  const h = booted(1);
  for (let i = 0; i < 3; i++) {
    h.send({ type: 'exit', workerId: h.ids()[0]! });
    h.send({ type: 'online', workerId: h.ids()[0]! });
  }
  t.same((h.takeEffects('spawn').at(-1) as { delayMs: number }).delayMs, 200, 'a loop of three');
  h.send(deploy());
  const [fresh] = h.takeEffects('spawn') as { workerId: number }[];
  h.send({ type: 'online', workerId: fresh!.workerId }, { type: 'exit', workerId: h.ids()[0]! });
  t.equal(h.take().at(-1), 'Ready. booting: 0, online: 1, dying: 0, new_online: 0');
  h.send({ type: 'exit', workerId: fresh!.workerId });
  t.same(h.takeEffects('spawn'), [{ type: 'spawn', workerId: fresh!.workerId + 1, slot: 0, delayMs: 0 }], 'its first death restarts at once');
});

t.test('serving workers killed again and again restart at once, every time: no back-off, no outage', async (t) => {
  const h = booted(2);
  const delays: number[] = [];
  for (let i = 0; i < 20; i++) {
    h.now += 1_000;
    const victim = h.state.workers[i % 2]!;
    h.send({ type: 'exit', workerId: victim.id });
    const [spawn] = h.takeEffects('spawn') as { workerId: number; delayMs: number }[];
    delays.push(spawn!.delayMs);
    h.send({ type: 'online', workerId: spawn!.workerId });
  }
  t.same(delays, Array(20).fill(0));
  t.same(h.takeEffects('backoff'), [], 'no back-off notice');
});

t.test("'offline': disconnected, replaced at once with SpawnNew, its exit is WorkerDeath; a second 'offline' is ignored", async (t) => {
  const h = booted(1).send({ type: 'offline', workerId: 1 }, { type: 'offline', workerId: 1 });
  t.same(h.takeEffects('shutdown'), [{ type: 'shutdown', workerId: 1, notify: false }]);
  t.same(h.takeEffects('spawn'), [{ type: 'spawn', workerId: 2, slot: 0, delayMs: 0 }]);
  h.send({ type: 'online', workerId: 2 }, { type: 'exit', workerId: 1 });
  t.same(h.take(), [
    'WorkerOffline. booting: 0, online: 0, dying: 1, new_online: 0',
    'SpawnNew. booting: 1, online: 0, dying: 1, new_online: 0',
    'WorkerOnline. booting: 0, online: 1, dying: 1, new_online: 0',
    'Ready. booting: 0, online: 1, dying: 1, new_online: 0',
    'WorkerDeath. booting: 0, online: 1, dying: 0, new_online: 0',
  ]);
});

t.test('an old worker crashing mid-deploy is replaced, and its replacement retired when the deploy lands', async (t) => {
  const h = booted(2).send(deploy(), { type: 'exit', workerId: 1 });
  const [replacement] = h.takeEffects('spawn').filter((e) => e.type === 'spawn' && e.workerId === 5) as { workerId: number }[];
  t.ok(replacement, 'replacement spawned for the crashed old worker');
  h.send({ type: 'online', workerId: 3 }, { type: 'online', workerId: 4 });
  t.same(h.takeEffects('shutdown').map((e) => (e as { workerId: number }).workerId).sort(), [2, 5]);
  h.send({ type: 'exit', workerId: 2 }, { type: 'exit', workerId: 5 });
  t.equal(h.take().at(-1), 'Ready. booting: 0, online: 2, dying: 0, new_online: 0');
  t.same(h.state.workers.map((w) => w.id), [3, 4]);
});

t.test('worker count changes on deploy; NAUGHT_WORKER slots stay 0..n-1', async (t) => {
  const h = booted(1).send({ ...deploy(), workerCount: 3 } as PoolInput);
  t.same(h.takeEffects('spawn').map((e) => (e as { slot: number }).slot), [0, 1, 2]);
});

t.test('a boot with a timeout: workers still booting when it passes fail the boot as a crash at boot does', async (t) => {
  const h = new Harness().send({ type: 'boot', workerCount: 2, timeoutMs: 5000 });
  t.same(h.takeEffects('start-timer'), [{ type: 'start-timer', timer: 'deploy', ms: 5000 }]);
  h.send({ type: 'online', workerId: 1 });
  h.take();
  h.send({ type: 'deploy-timeout' });
  t.same(h.take(), [
    'Timeout. booting: 1, online: 0, dying: 0, new_online: 1',
    'DestroyNew. booting: 1, online: 0, dying: 0, new_online: 0',
    'DestroyNew. booting: 0, online: 0, dying: 0, new_online: 0',
  ]);
  t.same(h.takeEffects('kill').map((e) => (e as { workerId: number }).workerId).sort(), [1, 2]);
  h.send({ type: 'exit', workerId: 1 }, { type: 'exit', workerId: 2 });
  t.same(h.takeEffects('exit'), [{ type: 'exit', reason: 'boot-failed' }]);
});

t.test('a boot without a timeout sets no timer, as naught 1.6 waited', async (t) => {
  const h = new Harness().send({ type: 'boot', workerCount: 1, timeoutMs: null });
  t.same(h.takeEffects('start-timer'), []);
});

t.test('watchdogs: a worker over the memory ceiling serves on until its replacement is online, then drains', async (t) => {
  const h = booted(2);
  h.send({ type: 'replace', workerId: 1, reason: 'memory' });
  t.same(h.takeEffects('replacing'), [{ type: 'replacing', workerId: 1, slot: 0, reason: 'memory' }]);
  t.same(h.takeEffects('spawn'), [{ type: 'spawn', workerId: 3, slot: 0, delayMs: 0 }]);
  t.same(h.take(), ['SpawnNew. booting: 1, online: 2, dying: 0, new_online: 0'], 'both old workers still count as online');
  t.same(h.takeEffects('shutdown'), [], 'nothing is shut down before the replacement is online');
  h.send({ type: 'replace', workerId: 1, reason: 'memory' });
  t.same(h.takeEffects('spawn'), [], 'a second finding while it is replaced changes nothing');
  h.send({ type: 'online', workerId: 3 });
  t.same(h.take(), [
    'WorkerOnline. booting: 0, online: 3, dying: 0, new_online: 0',
    'ShutdownOld. booting: 0, online: 2, dying: 1, new_online: 0',
    'Ready. booting: 0, online: 2, dying: 1, new_online: 0',
  ]);
  t.same(h.takeEffects('shutdown'), [{ type: 'shutdown', workerId: 1, notify: true }], "then 'shutdown': it drains");
  h.send({ type: 'exit', workerId: 1 });
  t.same(h.take(), ['OldExit. booting: 0, online: 2, dying: 0, new_online: 0']);
  t.same(h.takeEffects('spawn'), [], 'and is not resuscitated');
});

t.test('watchdogs: a hung worker is killed once its replacement is online, or when its grace is over', async (t) => {
  const h = booted(2);
  h.send({ type: 'replace', workerId: 2, reason: 'hung' }, { type: 'online', workerId: 3 });
  t.same(h.take(), [
    'SpawnNew. booting: 1, online: 2, dying: 0, new_online: 0',
    'WorkerOnline. booting: 0, online: 3, dying: 0, new_online: 0',
    'DestroyOld. booting: 0, online: 2, dying: 1, new_online: 0',
    'Ready. booting: 0, online: 2, dying: 1, new_online: 0',
  ]);
  t.same(h.takeEffects('kill'), [{ type: 'kill', workerId: 2 }], 'SIGKILL: a blocked loop cannot drain');

  const g = booted(1);
  g.send({ type: 'replace', workerId: 1, reason: 'hung' }, { type: 'retire-now', workerId: 1 });
  t.same(g.takeEffects('kill'), [{ type: 'kill', workerId: 1 }], 'the replacement still booting, the grace over: killed');
  g.send({ type: 'exit', workerId: 1 }, { type: 'online', workerId: 2 });
  t.same(g.take(), [
    'SpawnNew. booting: 1, online: 1, dying: 0, new_online: 0',
    'DestroyOld. booting: 1, online: 0, dying: 1, new_online: 0',
    'OldExit. booting: 1, online: 0, dying: 0, new_online: 0',
    'WorkerOnline. booting: 0, online: 1, dying: 0, new_online: 0',
    'Ready. booting: 0, online: 1, dying: 0, new_online: 0',
  ]);
  g.send({ type: 'retire-now', workerId: 2 });
  t.same(g.takeEffects('kill'), [], 'retire-now for a worker not being replaced does nothing');
});

t.test('watchdogs: a worker being replaced that dies is not replaced twice; none acts during a deploy or stop', async (t) => {
  const h = booted(1);
  h.send({ type: 'replace', workerId: 1, reason: 'memory' }, { type: 'exit', workerId: 1 });
  t.same(h.take(), ['SpawnNew. booting: 1, online: 1, dying: 0, new_online: 0', 'WorkerDeath. booting: 1, online: 0, dying: 0, new_online: 0']);
  t.same(h.takeEffects('spawn'), [{ type: 'spawn', workerId: 2, slot: 0, delayMs: 0 }], 'one replacement only');

  const d = booted(1).send(deploy());
  d.take();
  d.effects = [];
  d.send({ type: 'replace', workerId: 1, reason: 'hung' });
  t.same(d.take(), [], 'a deploy replaces it anyway');
  t.same(d.takeEffects('replacing'), []);
  const s = booted(1).send({ type: 'stop', requestId: 's', timeoutMs: null });
  s.take();
  s.send({ type: 'replace', workerId: 1, reason: 'memory' });
  t.same(s.takeEffects('spawn'), [], 'nor during a stop');
});

const batchDeploy = (batchSize: number): PoolInput => ({ type: 'deploy', requestId: 'd', workerCount: 0, env: null, cwd: null, timeoutMs: null, batchSize });
const generationsBySlot = (h: Harness) => h.state.workers.map((w) => `${w.slot}:${w.generation}:${w.state}`).sort();

t.test('batch deploy: size workers at a time, each batch online before its old ones go, never more than count + size', async (t) => {
  const h = booted(4).send(batchDeploy(2));
  let peak = 0;
  const step = (...inputs: PoolInput[]) => {
    for (const input of inputs) {
      h.send(input);
      peak = Math.max(peak, h.state.workers.length);
    }
  };
  t.same(h.takeEffects('spawn').map((e) => (e as { slot: number }).slot), [0, 1], 'the first batch: slots 0 and 1');
  step({ type: 'online', workerId: 5 }, { type: 'online', workerId: 6 });
  t.same(h.takeEffects('shutdown'), [{ type: 'shutdown', workerId: 1, notify: true }, { type: 'shutdown', workerId: 2, notify: true }], "then those slots' old workers");
  t.same(h.takeEffects('spawn'), [], 'the next batch waits for them to exit');
  step({ type: 'exit', workerId: 1 }, { type: 'exit', workerId: 2 });
  t.same(h.takeEffects('spawn').map((e) => (e as { slot: number }).slot), [2, 3], 'the second batch');
  step({ type: 'online', workerId: 7 }, { type: 'online', workerId: 8 });
  t.same(h.takeEffects('shutdown').map((e) => (e as { workerId: number }).workerId), [3, 4]);
  step({ type: 'exit', workerId: 3 }, { type: 'exit', workerId: 4 });
  t.same(h.take().slice(-1), ['Ready. booting: 0, online: 4, dying: 0, new_online: 0']);
  t.same(h.takeEffects('settled'), [{ type: 'settled', requestId: 'd', running: 'new', generation: 2 }]);
  t.equal(peak, 6, 'at most count + size workers at once (all at once: 2 × count)');
  t.same(generationsBySlot(h), ['0:2:online', '1:2:online', '2:2:online', '3:2:online']);
});

t.test('batch deploy: a new worker of a later batch that dies undoes the batches already replaced, with no slot ever empty', async (t) => {
  const h = booted(6).send(batchDeploy(2));
  h.send({ type: 'online', workerId: 7 }, { type: 'online', workerId: 8 }, { type: 'exit', workerId: 1 }, { type: 'exit', workerId: 2 });
  h.send({ type: 'online', workerId: 9 }, { type: 'online', workerId: 10 }, { type: 'exit', workerId: 3 }, { type: 'exit', workerId: 4 });
  h.take();
  h.effects = [];
  // Batch 3 (slots 4 and 5): one dies before online.
  h.send({ type: 'online', workerId: 11 }, { type: 'exit', workerId: 12 });
  t.same(h.takeEffects('restore'), [{ type: 'restore' }], 'forks run the old release again');
  t.same(h.takeEffects('kill'), [{ type: 'kill', workerId: 11 }], "batch 3's new worker whose slot still has its old one is killed");
  t.same(h.takeEffects('spawn').map((e) => (e as { slot: number }).slot), [0, 1, 2, 3], 'the replaced slots get old-release workers back');
  t.same(h.takeEffects('shutdown'), [], 'and keep their new workers until then');
  const reverts = h.state.workers.filter((w) => w.spawnedBy === 'replacement').map((w) => w.id);
  t.ok(h.state.workers.filter((w) => w.spawnedBy === 'replacement').every((w) => w.generation === 1), 'of the previous generation');
  for (const id of reverts) h.send({ type: 'online', workerId: id });
  t.same(h.takeEffects('shutdown').map((e) => (e as { workerId: number }).workerId), [7, 8, 9, 10], 'then the new ones drain');
  h.send({ type: 'exit', workerId: 11 }, ...[7, 8, 9, 10].map((workerId): PoolInput => ({ type: 'exit', workerId })));
  const lines = h.take();
  t.equal(lines.at(-1), 'DeployFailed. booting: 0, online: 6, dying: 0, new_online: 0');
  t.same(h.takeEffects('settled'), [{ type: 'settled', requestId: 'd', running: 'old', generation: 2 }]);
  t.ok(h.state.workers.every((w) => w.generation === 1 && w.state === 'online'), 'every worker on the old release');
  t.equal(h.state.waitingFor, null);
});

t.test('batch deploy: an abort while a batch drains goes back to the old release too', async (t) => {
  const h = booted(4).send(batchDeploy(2));
  h.send({ type: 'online', workerId: 5 }, { type: 'online', workerId: 6 });
  h.take();
  h.effects = [];
  h.send({ type: 'deploy-abort', requestId: 'a' });
  t.same(h.takeEffects('spawn').map((e) => (e as { slot: number }).slot), [0, 1], 'slots 0 and 1, whose old workers are draining, get old-release workers');
  h.send({ type: 'exit', workerId: 1 }, { type: 'exit', workerId: 2 }, { type: 'online', workerId: 7 }, { type: 'online', workerId: 8 });
  h.send({ type: 'exit', workerId: 5 }, { type: 'exit', workerId: 6 });
  t.equal(h.take().at(-1), 'Ready. booting: 0, online: 4, dying: 0, new_online: 0', "Ready: naught's word for an aborted deploy");
  t.ok(h.state.workers.every((w) => w.generation === 1));
  t.equal(h.state.workers.length, 4);
});
