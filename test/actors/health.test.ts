// /livez, /readyz and /status served on 127.0.0.1 from an in-memory bus: the answers follow
// the pool's events and the master's heartbeat as they come.
import t, { type Test } from 'tap';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { createBus, type Bus } from '../../src/bus/bus.js';
import type { PoolEvent } from '../../src/bus/messages.js';
import { createHealthActor } from '../../src/actors/health.js';
import { sample } from '../helpers/sample-messages.js';

function get(port: number, route: string): Promise<{ status: number; body: Record<string, unknown> }> {
  return new Promise((resolve, reject) => {
    http.get({ host: '127.0.0.1', port, path: route, agent: false }, (res) => {
      let text = '';
      res.on('data', (chunk: Buffer) => { text += chunk.toString(); });
      res.on('end', () => resolve({ status: res.statusCode!, body: JSON.parse(text) as Record<string, unknown> }));
    }).on('error', reject);
  });
}

async function serving(t: Test): Promise<{ bus: Bus; port: number; answering: { now: boolean }; health: ReturnType<typeof createHealthActor> }> {
  const bus = createBus('daemon');
  const answering = { now: true };
  const health = createHealthActor({ bus, address: { kind: 'tcp', host: '127.0.0.1', port: 0 }, masterAnswering: () => answering.now });
  await health.serve();
  t.teardown(() => health.close());
  return { bus, port: (health.server.address() as AddressInfo).port, answering, health };
}

const event = (event: PoolEvent['event'], online: number, waitingFor: PoolEvent['waitingFor'] = null): PoolEvent =>
  ({ event, waitingFor, count: { booting: 0, online, dying: 0, new_online: 0 } });

t.test('/readyz follows the pool: no worker, online, a failing deploy, stopping', async (t) => {
  const { bus, port } = await serving(t);
  t.same(await get(port, '/readyz'), { status: 503, body: { ready: false, reason: 'no worker is online', online: 0 } });
  bus.publish({ type: 'pool.event', ...event('Ready', 2) });
  t.same(await get(port, '/readyz'), { status: 200, body: { ready: true, online: 2 } });
  bus.publish({ type: 'pool.event', ...event('NewDeath', 2, 'new') });
  t.same(await get(port, '/readyz'), { status: 503, body: { ready: false, reason: 'a deploy is failing', online: 2 } });
  bus.publish({ type: 'pool.event', ...event('DeployFailed', 2) });
  t.equal((await get(port, '/readyz')).status, 200, 'the failed deploy is over: the old workers serve');
  bus.publish({ type: 'pool.event', ...event('ShutdownOld', 1, 'shutdown') });
  t.same(await get(port, '/readyz'), { status: 503, body: { ready: false, reason: 'naught is stopping', online: 1 } });
});

t.test('/livez is the master\'s heartbeat; /status the status report; anything else 404', async (t) => {
  const { bus, port, answering } = await serving(t);
  t.same(await get(port, '/livez'), { status: 200, body: { live: true } });
  answering.now = false;
  t.same(await get(port, '/livez'), { status: 503, body: { live: false, reason: 'the master is not answering' } });
  bus.on('cmd.inspect', ({ requestId }) => { setImmediate(() => bus.publish({ ...sample('status.report'), requestId })); });
  const status = await get(port, '/status');
  t.equal(status.status, 200);
  t.same(status.body, sample('status.report').report);
  t.same(await get(port, '/metrics'), { status: 404, body: { error: 'naught serves /livez, /readyz and /status' } });
});

t.test('handed over by naught upgrade: a probe this daemon still answers hears ready while its old workers stop', async (t) => {
  const { bus, port, health } = await serving(t);
  bus.publish({ type: 'pool.event', ...event('Ready', 2) });
  health.handedOver();
  bus.publish({ type: 'pool.event', ...event('ShutdownOld', 0, 'shutdown') });
  t.same(await get(port, '/readyz'), { status: 200, body: { ready: true, online: 0 } });
});
