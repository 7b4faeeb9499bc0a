import t from 'tap';
import http2 from 'node:http2';
import { Agent, request } from 'undici';
import { fixture } from '../helpers/paths.js';
import { freePort, Sandbox } from '../helpers/naught.js';

/**
 * undici's keep-alive Agent, with no retries of any kind: every request that does not get
 * a 200 counts as failed.
 */
function undiciLoad(origin: string) {
  const agent = new Agent({ connections: 4, keepAliveTimeout: 30_000, connect: { rejectUnauthorized: false } });
  const result = { ok: 0, failed: [] as string[], workers: new Set<string>() };
  let running = true;
  const loop = async () => {
    while (running) {
      try {
        const res = await request(origin, { dispatcher: agent, headersTimeout: 5_000, bodyTimeout: 5_000 });
        const body = await res.body.text();
        if (res.statusCode === 200) {
          result.ok++;
          result.workers.add(body.trim());
        } else {
          result.failed.push(`HTTP ${res.statusCode}`);
        }
      } catch (error) {
        result.failed.push(`${(error as { code?: string }).code ?? ''} ${(error as Error).message}`);
      }
    }
  };
  const loops = Array.from({ length: 6 }, loop);
  return {
    async stop() {
      running = false;
      await Promise.all(loops);
      await agent.close();
      return result;
    },
  };
}

/**
 * node:http2's client on two sessions at a time: a GOAWAY sends later requests to a new
 * session, as RFC 9113 §6.8 asks, while the streams already open finish on the old one.
 * (undici 6 fails the request in flight on any GOAWAY, so it cannot judge a drain.)
 */
function http2Load(origin: string) {
  const result = { ok: 0, failed: [] as string[], workers: new Set<string>() };
  let retried = 0;
  // Two connections, opened together, so that the cluster's round-robin gives one to each worker.
  const sessions: (http2.ClientHttp2Session | null)[] = [null, null];
  const current = (k: number) => {
    const session = sessions[k];
    if (session && !session.closed && !session.destroyed) return session;
    const fresh = http2.connect(origin, { rejectUnauthorized: false });
    fresh.on('goaway', () => { if (sessions[k] === fresh) sessions[k] = null; });
    fresh.on('error', () => {});
    sessions[k] = fresh;
    return fresh;
  };
  const once = (k: number) => new Promise<void>((resolve) => {
    let body = '';
    let status = 0;
    const stream = current(k).request({ ':path': '/' });
    stream.on('response', (headers) => { status = Number(headers[':status']); });
    stream.on('data', (d: Buffer) => { body += d; });
    stream.on('end', () => {
      // A stream the server never answered was not processed (RFC 9113 §8.7): safe to retry.
      if (status === 0) {
        retried++;
        sessions[k] = null;
        return void once(k).then(resolve);
      }
      if (status === 200) {
        result.ok++;
        result.workers.add(body.trim());
      } else {
        result.failed.push(`HTTP ${status}`);
      }
      resolve();
    });
    stream.on('error', (error: Error & { code?: string }) => { result.failed.push(`${error.code} ${error.message}`); resolve(); });
  });
  let running = true;
  const loops = Array.from({ length: 6 }, async (_, i) => { while (running) await once(i % 2); });
  return {
    async stop() {
      running = false;
      await Promise.all(loops);
      for (const session of sessions) session?.close();
      if (retried > 0) console.log(`# http2: ${retried} unprocessed streams retried`);
      return result;
    },
  };
}

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
    t.comment(`${server.name}: ${result.ok} ok, ${result.failed.length} failed`);
    t.ok(result.ok > 100, 'the load ran');
    t.same(result.failed, [], 'no request failed');
    t.same([...result.workers].sort(), ['hello from 0', 'hello from 1']);
    // A plain stop waits for the workers to exit by themselves: a drain that left a
    // connection open would hang it past the run's 30 s limit (code null).
    t.equal((await box.naught(['stop'])).code, 0, 'the last drain closed every connection');
  });
}
