// Both ends of `naught upgrade`'s hand-over on an in-memory bus: what the old daemon
// refuses and gives, the connections it passes on once handed over, and the new daemon
// taking the control socket only when told it has it.
import t, { type Test } from 'tap';
import net from 'node:net';
import type { ChildProcess } from 'node:child_process';
import { createBus } from '../../src/bus/bus.js';
import type { Message } from '../../src/bus/messages.js';
import { createHandOverActor, type HandOverDeps } from '../../src/actors/hand-over.js';
import { sample } from '../helpers/sample-messages.js';

function handing(t: Test, overrides: Partial<HandOverDeps> = {}, takeOver?: ReturnType<typeof sample<'cmd.take-over'>>) {
  const bus = createBus('daemon');
  const calls: string[] = [];
  const server = net.createServer();
  const listening = new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  t.teardown(() => server.close());
  const control: HandOverDeps['control'] = {
    server,
    accept: () => { calls.push('accept'); },
    listen: async (fd) => { calls.push(`listen ${fd}`); },
    handedOver: (status) => { calls.push(`handedOver ${JSON.stringify(status('q').map((msg: Message) => msg.type))}`); },
  };
  const stops: string[] = [];
  bus.on('cmd.stop', ({ requestId }) => stops.push(requestId));
  const handOver = createHandOverActor({
    bus, control, health: null, listeners: { fds: [7], names: ['http'] },
    busy: () => null,
    take: () => ({ config: sample('cmd.start').config, release: sample('cmd.start').config, generation: 2, foreground: false, fromPid: 1 }),
    successorStatus: (requestId) => [{ type: 'plugin.list', requestId, plugins: [] }],
    giveUp: async (pid) => { calls.push(`giveUp ${pid}`); },
    takeUp: async () => { calls.push('takeUp'); },
    ...overrides,
  }, takeOver);
  t.teardown(() => handOver.close());
  return { bus, calls, stops, handOver, listening, server };
}

t.test('the old daemon: refusals, what it gives, and the hand-over', async (t) => {
  t.match(handing(t, { listeners: { fds: [], names: [] } }).handOver.state(), { refused: /^this naught holds no listening sockets/ });
  t.same(handing(t, { busy: () => 'the workers are booting' }).handOver.state(), { refused: 'the workers are booting' });
  const { calls, stops, handOver, listening, server } = handing(t);
  await listening;
  const state = handOver.state();
  t.match(state, { take: { generation: 2 }, listeners: { fds: [7], names: ['http'] }, health: null });
  t.equal((state as { control: number }).control, (server as unknown as { _handle: { fd: number } })._handle.fd, 'the control socket\'s own descriptor');
  t.equal(handOver.owns(), true);

  const sentOn: unknown[] = [];
  const newDaemon = { pid: 4321, send: (message: unknown) => { sentOn.push(message); return true; } } as unknown as ChildProcess;
  await handOver.handOver(newDaemon);
  t.equal(handOver.owns(), false);
  t.same(calls, ['handedOver ["plugin.list"]', 'giveUp 4321'], 'status answered as the successor\'s before the plugins stop');
  t.same(stops, ['upgrade:4321'], 'then its own workers stop');
  t.same(handOver.state(), { refused: 'this daemon is handing over to another already' });

  const { port } = server.address() as net.AddressInfo;
  const client = net.connect(port, '127.0.0.1');
  t.teardown(() => client.destroy());
  await new Promise<void>((resolve) => { const poll = () => (sentOn.length > 0 ? resolve() : setImmediate(poll)); poll(); });
  t.same(sentOn, [{ naught: 'connection', to: 'control' }], 'a connection accepted after the hand-over goes to the new daemon, unread');
});

t.test('the new daemon: the control socket is its own once it is told so', async (t) => {
  const takeOver = sample('cmd.take-over');
  const { bus, calls, handOver } = handing(t, {}, takeOver);
  t.equal(handOver.owns(), false);
  t.match(handOver.state(), { refused: /handing over/ });
  bus.publish({ type: 'upgrade.handed-over', fromPid: 1 });
  await new Promise((resolve) => setImmediate(resolve));
  t.same(calls, [`listen ${takeOver.fds.control}`, 'takeUp']);
  t.equal(handOver.owns(), true);
});
