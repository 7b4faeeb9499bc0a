// The release history on an in-memory bus, in a temporary folder: a boot and each deploy
// that reached Ready are generations with their real paths, kept in a 0600 file a new
// daemon numbers on from; a rollback is a deploy of an earlier one's release.
import t, { type Test } from 'tap';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createBus } from '../../src/bus/bus.js';
import type { MessageOf, ServerConfig } from '../../src/bus/messages.js';
import { createGenerationsActor, generationsFile } from '../../src/actors/generations.js';
import { sample } from '../helpers/sample-messages.js';

function releases(t: Test) {
  const root = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), 'naught-generations-')));
  t.teardown(() => fs.rmSync(root, { recursive: true, force: true }));
  for (const name of ['r1', 'r2']) {
    fs.mkdirSync(path.join(root, name));
    fs.writeFileSync(path.join(root, name, 'server.js'), '');
  }
  fs.symlinkSync(path.join(root, 'r1'), path.join(root, 'current'));
  const config = { ...sample('cmd.start').config, pidFile: path.join(root, 'naught.pid'), env: { A: '1' } };
  return { root, config };
}

function historyOf(t: Test, config: MessageOf<'cmd.start'>['config'], release: () => ServerConfig, deploying = new Map<string, ServerConfig>()) {
  const bus = createBus('daemon');
  const seen: string[] = [];
  const lists: MessageOf<'history.list'>[] = [];
  bus.on('history.list', (msg) => lists.push(msg));
  bus.on('notice', ({ code }) => seen.push(code));
  const generations = createGenerationsActor({ bus, config, release, deploying: (id) => deploying.get(id) });
  t.teardown(() => generations.close());
  const list = () => {
    bus.publish({ type: 'cmd.history', requestId: `h${lists.length}` });
    return lists.at(-1)!;
  };
  return { bus, generations, list, seen, deploying };
}

t.test('the boot and a deploy become generations 1 and 2, with real paths and the names the deploy changed', async (t) => {
  const { root, config } = releases(t);
  const boot: ServerConfig = { ...config, script: path.join(root, 'current/server.js'), cwd: path.join(root, 'current') };
  const { bus, generations, list, deploying } = historyOf(t, config, () => boot);
  t.equal(generations.bootGeneration(true), 1);
  bus.publish({ ...sample('cmd.boot'), config: boot, generation: 1 });
  t.same(list().generations, [], 'nothing before Ready');
  bus.publish({ type: 'pool.event', event: 'Ready', waitingFor: null, count: { booting: 0, online: 2, dying: 0, new_online: 0 } });
  const first = list();
  t.equal(first.current, 1);
  t.match(first.generations, [{ generation: 1, script: path.join(root, 'r1/server.js'), cwd: path.join(root, 'r1'), env: { A: '1' }, envChanged: [], workerCount: 2 }]);

  // The daemon reckons the deploy's release first; then the links move, and the history keeps where it pointed.
  deploying.set('d1', { ...boot, env: { A: '1', B: '1' }, workerCount: 3 });
  bus.publish({ type: 'cmd.deploy', requestId: 'd1', workerCount: 3, env: { A: '1', B: '1' }, cwd: null, timeoutMs: null });
  fs.unlinkSync(path.join(root, 'current'));
  fs.symlinkSync(path.join(root, 'r2'), path.join(root, 'current'));
  deploying.set('refused', boot);
  bus.publish({ type: 'cmd.deploy', requestId: 'refused', workerCount: 0, env: null, cwd: null, timeoutMs: null });
  bus.publish({ type: 'pool.reply', requestId: 'refused', event: 'ErrorDeployInProgress', waitingFor: 'new', count: { booting: 0, online: 2, dying: 0, new_online: 0 } });
  bus.publish({ type: 'deploy.settled', requestId: 'refused', running: 'new', generation: 9 });
  bus.publish({ type: 'deploy.settled', requestId: 'd1', running: 'new', generation: 2 });
  const second = list();
  t.equal(second.current, 2);
  t.same(second.generations.map((g) => [g.generation, g.cwd, g.envChanged, g.workerCount]), [[1, path.join(root, 'r1'), [], 2], [2, path.join(root, 'r1'), ['B'], 3]]);

  const file = generationsFile(config.pidFile);
  t.equal(fs.statSync(file).mode & 0o777, 0o600, 'the environments are the owner\'s alone');
  const again = historyOf(t, config, () => boot);
  t.equal(again.generations.bootGeneration(true), 3, 'a new daemon numbers on');
  t.equal(again.generations.bootGeneration(false), 3, 'before a Ready, a restarted master boots the next too');
  t.same(again.list().generations.map((g) => g.generation), [1, 2]);
});

t.test('a rollback deploys an earlier release, or is refused with the reason', async (t) => {
  const { root, config } = releases(t);
  const boot: ServerConfig = { ...config, script: path.join(root, 'r1/server.js'), cwd: path.join(root, 'r1') };
  const { bus } = historyOf(t, config, () => boot);
  const deploys: MessageOf<'cmd.deploy'>[] = [];
  const refusals: string[] = [];
  bus.on('cmd.deploy', (msg) => deploys.push(msg));
  bus.on('rollback.refused', ({ reason }) => refusals.push(reason));

  bus.publish({ type: 'cmd.rollback', requestId: 'x0', to: null });
  t.same(refusals, ['there is no earlier generation to roll back to (naught history lists them)']);
  for (const generation of [1, 2]) {
    bus.publish({ ...sample('cmd.boot'), config: { ...boot, workerCount: generation }, generation });
    bus.publish({ type: 'pool.event', event: 'Ready', waitingFor: null, count: { booting: 0, online: 1, dying: 0, new_online: 0 } });
  }
  bus.publish({ type: 'cmd.rollback', requestId: 'x1', to: null });
  t.same(deploys.map(({ requestId, workerCount, script, cwd }) => [requestId, workerCount, script, cwd]), [['x1', 1, path.join(root, 'r1/server.js'), path.join(root, 'r1')]]);
  bus.publish({ type: 'cmd.rollback', requestId: 'x2', to: 7 });
  fs.rmSync(path.join(root, 'r1'), { recursive: true });
  bus.publish({ type: 'cmd.rollback', requestId: 'x3', to: 1 });
  t.same(refusals.slice(1), [
    'there is no generation 7 (naught history lists the last 20)',
    `generation 1's release is gone: ${path.join(root, 'r1')} does not exist`,
  ]);
});
