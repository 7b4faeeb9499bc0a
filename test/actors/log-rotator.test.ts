// The log files from an in-memory bus and real pipes, in a temporary folder: the master's
// and a worker's output land in stdout/stderr a line at a time and reach the feed, a worker
// that died has its last stderr lines published, reopen-logs follows a moved file, and the
// counts add up.
import t from 'tap';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { once } from 'node:events';
import { PassThrough } from 'node:stream';
import { createBus } from '../../src/bus/bus.js';
import type { MessageOf } from '../../src/bus/messages.js';
import { createLogRotatorActor } from '../../src/actors/log-rotator.js';
import { sample } from '../helpers/sample-messages.js';
import { socketPair } from '../helpers/socket-pair.js';
import { waitFor } from '../helpers/naught.js';

t.test('output into the files and the feed; last words of a worker that died; reopen after a move', async (t) => {
  const folder = fs.mkdtempSync(path.join(os.tmpdir(), 'naught-rotator-'));
  t.teardown(() => fs.rmSync(folder, { recursive: true, force: true }));
  const file = (name: string) => path.join(folder, name);
  const config = { ...sample('cmd.start').config, log: file('naught.log'), stdout: file('stdout.log'), stderr: file('stderr.log'), maxLogSize: 10 * 2 ** 20 };
  const bus = createBus('daemon');
  const fed: string[] = [];
  const lastWords: MessageOf<'worker.last-words'>[] = [];
  bus.on('worker.last-words', (msg) => lastWords.push(msg));
  const rotator = await createLogRotatorActor({ bus, config, foreground: false, feed: { add: (stream, group) => fed.push(`${stream}:${Buffer.concat(group).toString()}`) } });
  let closed = false;
  t.teardown(async () => { if (!closed) await rotator.close(); });

  rotator.eventSink!.write('Bootup. booting: 2, online: 0, dying: 0, new_online: 0\n');
  const master = new PassThrough();
  rotator.attach('stdout', master);
  master.write('from the master, in two ');
  master.write('pieces\nand a second line\n');

  const { client: worker, server: pipe } = await socketPair(t);
  rotator.adopt('stderr', pipe, 77);
  worker.write('Error: boom\n    at main (server.js:3)\n');
  await waitFor('the worker\'s lines fed', () => fed.length >= 2);
  bus.publish({ type: 'worker.exited', workerId: 1, slot: 0, pid: 77, code: 1, signal: null });
  t.same(lastWords, [], 'not before its pipe has ended');
  worker.end();
  await waitFor('the last words', () => lastWords.length > 0);
  t.same(lastWords, [{ type: 'worker.last-words', workerId: 1, slot: 0, pid: 77, lines: ['Error: boom', '    at main (server.js:3)'] }]);
  t.same(fed, ['stdout:from the master, in two pieces\nand a second line\n', 'stderr:Error: boom\n    at main (server.js:3)\n']);

  fs.renameSync(file('stdout.log'), file('stdout.log.1'));
  const reopened = new Promise((resolve) => bus.on('logs.reopened', resolve));
  bus.publish({ type: 'cmd.reopen-logs', requestId: 'r1' });
  await reopened;
  master.end('after the move\n');
  await once(master, 'end');
  await rotator.close();
  closed = true;
  t.equal(fs.readFileSync(file('stdout.log.1'), 'utf8'), 'from the master, in two pieces\nand a second line\n');
  t.equal(fs.readFileSync(file('stdout.log'), 'utf8'), 'after the move\n');
  t.equal(fs.readFileSync(file('stderr.log'), 'utf8'), 'Error: boom\n    at main (server.js:3)\n');
  t.equal(fs.readFileSync(file('naught.log'), 'utf8'), 'Bootup. booting: 2, online: 0, dying: 0, new_online: 0\n');
  t.same(rotator.stats().map(({ name, linesWritten, linesDropped }) => [name, linesWritten, linesDropped]), [['naught.log', 1, 0], ['stdout', 3, 0], ['stderr', 2, 0]]);
});

t.test('a worker that exited 0 leaves no last words; /dev/null logs take nothing and have no sink', async (t) => {
  const folder = fs.mkdtempSync(path.join(os.tmpdir(), 'naught-rotator-'));
  t.teardown(() => fs.rmSync(folder, { recursive: true, force: true }));
  const config = { ...sample('cmd.start').config, log: path.join(folder, 'naught.log'), stdout: '/dev/null', stderr: path.join(folder, 'stderr.log') };
  const bus = createBus('daemon');
  const lastWords: unknown[] = [];
  bus.on('worker.last-words', (msg) => lastWords.push(msg));
  const rotator = await createLogRotatorActor({ bus, config, foreground: false });
  const { client: worker, server: pipe } = await socketPair(t);
  rotator.adopt('stderr', pipe, 78);
  worker.end('a warning, then a clean exit\n');
  bus.publish({ type: 'worker.exited', workerId: 2, slot: 0, pid: 78, code: 0, signal: null });
  const silent = new PassThrough();
  rotator.attach('stdout', silent);
  silent.end('to nowhere\n');
  await once(silent, 'end');
  await waitFor('the warning written', () => fs.readFileSync(path.join(folder, 'stderr.log'), 'utf8').length > 0);
  await rotator.close();
  t.same(lastWords, []);
  t.same(rotator.stats().map(({ name }) => name), ['naught.log', 'stderr']);
});
