// The daemon's master process on an in-memory bus: started with the release it is given,
// linked on fd 3, told what to boot; its workers' Ready comes over the bus, their output
// pipes come to the logs, and its exit 0 after a stop ends supervision.
import t from 'tap';
import type net from 'node:net';
import type { Readable } from 'node:stream';
import { createBus } from '../../src/bus/bus.js';
import type { Message } from '../../src/bus/messages.js';
import { superviseMaster } from '../../src/actors/master-process.js';
import type { ChildEnd, ChildExit } from '../../src/supervision/child-supervisor.js';
import { fixture, repoRoot } from '../helpers/paths.js';
import { freePort, get } from '../helpers/naught.js';
import { sample } from '../helpers/sample-messages.js';

t.test('a master boots the release, serves, and ends supervision with its exit 0 after a stop', async (t) => {
  const port = await freePort();
  const bus = createBus('daemon');
  const events: string[] = [];
  const boots: Message[] = [];
  bus.on('pool.event', ({ event }) => events.push(event));
  bus.on('cmd.boot', (msg) => boots.push(msg));
  const piped: string[] = [];
  let end!: (value: [ChildExit | null, ChildEnd]) => void;
  const ended = new Promise<[ChildExit | null, ChildEnd]>((resolve) => { end = resolve; });
  const release = { ...sample('cmd.boot').config, script: fixture('hello-server.cjs'), cwd: repoRoot, args: [], nodeArgs: [], workerCount: 1, env: { PORT: String(port), GREETING: 'from the release' } };
  const master = superviseMaster({
    bus, release: () => release, listeners: { fds: [], names: [] }, output: { stdout: 'pipe', stderr: 'pipe' },
    logs: {
      attach: (stream: string, source: Readable | null) => { piped.push(`master ${stream}`); source?.resume(); },
      adopt: (stream: string, pipe: net.Socket, pid: number) => { piped.push(`worker ${stream} ${pid > 0}`); pipe.resume(); },
    },
    boot: () => ({ firstBoot: true, generation: 5, startScript: release.script }),
    ended: (exit, why) => end([exit, why]),
  });
  t.teardown(() => { master.current()?.child.kill('SIGKILL'); });
  await new Promise<void>((resolve) => { const off = bus.on('pool.event', ({ event }) => { if (event === 'Ready') { off(); resolve(); } }); });
  t.match(boots, [{ type: 'cmd.boot', firstBoot: true, generation: 5, startScript: release.script, output: { stdout: 'pipe', stderr: 'pipe' }, config: { workerCount: 1 } }]);
  t.match(await get(port), { greeting: 'from the release', worker: '0' });
  t.same(piped.sort(), ['master stderr', 'master stdout', 'worker stderr true', 'worker stdout true']);
  t.equal(master.starts, 1);
  bus.publish({ type: 'cmd.stop', requestId: 's1', timeoutMs: null });
  const [exit, why] = await ended;
  t.same([exit?.code, why], [0, 'final']);
  t.ok(events.includes('Ready'), events.join(' '));
});
