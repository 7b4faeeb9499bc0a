import t from 'tap';
import fs from 'node:fs';
import { fixture } from '../helpers/paths.js';
import { deployLines, freePort, get, line, Sandbox, stopLines, waitFor } from '../helpers/naught.js';

type ParentMessage = { event: string; waitingFor: string | null; count: Record<string, number> };

t.test('--daemon-mode false: blocks, tells a forking parent every event, SIGHUP deploys, SIGTERM stops', async (t) => {
  const box = new Sandbox(t);
  const port = await freePort();
  const cli = box.spawn(['start', '--daemon-mode', 'false', '--worker-count', '2', '--stdout', '-', fixture('hello-server.cjs')], { PORT: String(port) }, true);
  const messages: ParentMessage[] = [];
  cli.on('message', (m: ParentMessage) => messages.push(m));
  await waitFor('Ready', () => messages.some((m) => m.event === 'Ready'));
  t.same(messages[0], { event: 'IpcListening' });
  t.same(messages.slice(1).map((m) => Object.keys(m).sort().join(',')), Array(6).fill('count,event,waitingFor'), 'exactly event, waitingFor, count');
  t.same(messages.at(-1), { event: 'Ready', waitingFor: null, count: { booting: 0, online: 2, dying: 0, new_online: 0 } });
  t.same(messages[2], { event: 'SpawnNew', waitingFor: 'new', count: { booting: 1, online: 0, dying: 0, new_online: 0 } });
  t.equal(box.daemonPid(), cli.pid, 'this process is the daemon');
  await waitFor('worker stdout on our stdout', () => cli.output().stdout.includes('listening on'));
  t.same(await box.naught(['status']), { code: 0, stdout: 'workers online: 2\n', stderr: '' });

  const before = await get(port);
  const seen = messages.length;
  cli.kill('SIGHUP');
  await waitFor('the SIGHUP deploy', () => messages.slice(seen).some((m) => m.event === 'Ready'));
  t.same(messages.slice(seen).map((m) => `${m.event}. booting: ${m.count.booting}, online: ${m.count.online}, dying: ${m.count.dying}, new_online: ${m.count.new_online}`),
    [...deployLines(2), line('Ready', 0, 2, 0, 0)]);
  t.not((await get(port)).pid, before.pid);

  cli.kill('SIGTERM');
  const result = await cli.exited;
  t.equal(result.code, 0, 'exits 0 once stopped');
  t.equal(result.stderr, '', 'foreground prints no events itself');
  t.same(messages.slice(-5).map((m) => m.event), [...stopLines(2).map((l) => l.split('.')[0]), 'Shutdown']);
  t.notOk(fs.existsSync(box.path('naught.pid')));
});

t.test('--daemon-mode false with a server that crashes at boot exits non-zero', async (t) => {
  const box = new Sandbox(t);
  const cli = box.spawn(['start', '--daemon-mode', 'false', '--log', '-', fixture('crash-before-online.cjs')]);
  const result = await cli.exited;
  t.equal(result.code, 1);
  t.match(result.stderr, /^Bootup\. booting: 0, online: 0, dying: 0, new_online: 0\n(.|\n)*Shutdown\. booting: 0, online: 0, dying: 0, new_online: 0\n$/, '--log - writes naught.log lines to our stderr');
});
