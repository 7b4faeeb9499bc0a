// HTTP clients that judge a drain: keep-alive (undici, no retries), HTTP/2 sessions, and a
// new connection per request (http, https, http2). Each records every failure and which
// workers answered, and runs until stopped.
import http from 'node:http';
import https from 'node:https';
import http2 from 'node:http2';
import { Agent, request } from 'undici';

export interface HttpLoadResult { ok: number; failed: string[]; workers: Set<string> }

/**
 * undici's keep-alive Agent, with no retries of any kind: every request that does not get
 * a 200 counts as failed.
 */
export function undiciLoad(origin: string, connections = 4) {
  const agent = new Agent({ connections, keepAliveTimeout: 30_000, connect: { rejectUnauthorized: false } });
  const result: HttpLoadResult = { ok: 0, failed: [], workers: new Set() };
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
export function http2Load(origin: string) {
  const result: HttpLoadResult = { ok: 0, failed: [], workers: new Set() };
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


/** A new connection for every request, as a client without keep-alive makes them. */
export function newConnectionLoad(origin: string, h2: boolean) {
  const result: HttpLoadResult = { ok: 0, failed: [], workers: new Set() };
  const once = () => (h2 ? h2Once(origin) : h1Once(origin)).then(
    (body) => { result.ok++; result.workers.add(body.trim()); },
    (error: Error & { code?: string }) => { result.failed.push(`${error.code ?? ''} ${error.message}`); },
  );
  let running = true;
  const loops = Array.from({ length: 4 }, async () => { while (running) await once(); });
  return {
    async stop() {
      running = false;
      await Promise.all(loops);
      return result;
    },
  };
}

function h1Once(origin: string): Promise<string> {
  const get = origin.startsWith('https:') ? https.get : http.get;
  return new Promise((resolve, reject) => {
    const req = get(`${origin}/`, { agent: false, rejectUnauthorized: false, timeout: 5_000 }, (res) => {
      let body = '';
      res.on('data', (d: Buffer) => { body += d; });
      res.on('end', () => (res.statusCode === 200 ? resolve(body) : reject(new Error(`HTTP ${res.statusCode}`))));
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', reject);
  });
}

function h2Once(origin: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const session = http2.connect(origin, { rejectUnauthorized: false });
    session.on('error', reject);
    const stream = session.request({ ':path': '/' });
    let body = '';
    let status = 0;
    stream.setTimeout(5_000, () => stream.close(http2.constants.NGHTTP2_CANCEL));
    stream.on('response', (headers) => { status = Number(headers[':status']); });
    stream.on('data', (d: Buffer) => { body += d; });
    stream.on('end', () => {
      session.close();
      if (status === 200) resolve(body);
      else reject(new Error(status === 0 ? 'stream closed unanswered' : `HTTP ${status}`));
    });
    stream.on('error', (error) => { session.destroy(); reject(error); });
  });
}
