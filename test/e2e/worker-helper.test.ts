import t from 'tap';
import { fixture } from '../helpers/paths.js';
import { freePort, Sandbox } from '../helpers/naught.js';
import { http2Load, undiciLoad } from '../helpers/http-loads.js';

const servers = [
  { name: 'node:http', file: 'http.mjs', scheme: 'http', h2: false },
  { name: 'node:https', file: 'https.mjs', scheme: 'https', h2: false },
  { name: 'node:http2', file: 'http2.mjs', scheme: 'https', h2: true },
  { name: 'Express', file: 'express.mjs', scheme: 'http', h2: false },
  { name: 'Fastify', file: 'fastify.mjs', scheme: 'http', h2: false },
];

for (const server of servers) {
  t.test(`naught/worker with ${server.name}: zero failed requests across 3 deploys under keep-alive load`, async (t) => {
    const box = new Sandbox(t);
    const port = await freePort();
    const start = await box.naught(['start', '--worker-count', '2', fixture(`helper/${server.file}`)], { PORT: String(port) });
    t.equal(start.code, 0, start.stderr);
    t.teardown(() => box.naught(['stop', '--timeout', '1']));
    const origin = `${server.scheme}://127.0.0.1:${port}`;
    const load = server.h2 ? http2Load(origin) : undiciLoad(`${origin}/`);
    for (let i = 0; i < 3; i++) t.equal((await box.naught(['deploy'])).code, 0, `deploy ${i + 1}`);
    const result = await load.stop();
    t.comment(`${server.name}: ${result.ok} ok, ${result.failed.length} failed, ${result.retried} unprocessed streams retried`);
    t.ok(result.ok > 100, 'the load ran');
    t.same(result.failed, [], 'no request failed');
    // undici never retries; node:http2's client may send again only streams the server
    // never processed (RFC 9113 §8.7), those it opened as a GOAWAY was on its way: at most
    // its 6 open streams per drained session, 2 sessions, 3 deploys.
    t.ok(result.retried <= (server.h2 ? 6 * 2 * 3 : 0), `retries within the bound (${result.retried})`);
    t.same([...result.workers].sort(), ['hello from 0', 'hello from 1']);
    // A plain stop waits for the workers to exit by themselves: a drain that left a
    // connection open would hang it past the run's 30 s limit (code null).
    t.equal((await box.naught(['stop'])).code, 0, 'the last drain closed every connection');
  });
}
