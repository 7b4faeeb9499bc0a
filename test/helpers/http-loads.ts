// HTTP clients that judge a drain: keep-alive (undici, no retries), HTTP/2 sessions, and a
// new connection per request (http, https, http2). Each records every failure and which
// workers answered, and runs until stopped.
import http from 'node:http';
import https from 'node:https';
import http2 from 'node:http2';
import { Agent, request } from 'undici';

/** `retried`: streams the server closed unprocessed (RFC 9113 §8.7), sent again; HTTP/2 only. */
export interface HttpLoadResult { ok: number; failed: string[]; workers: Set<string>; retried: number }

/**
 * undici's keep-alive Agent, with no retries of any kind: every request that does not get
 * a 200 counts as failed.
 */
export function undiciLoad(origin: string, connections = 4) {
  const agent = new Agent({ connections, keepAliveTimeout: 30_000, connect: { rejectUnauthorized: false } });
  const result: HttpLoadResult = { ok: 0, failed: [], workers: new Set(), retried: 0 };
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
  const result: HttpLoadResult = { ok: 0, failed: [], workers: new Set(), retried: 0 };
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
    let settled = false;
    const settle = (what?: string) => {
      if (settled) return;
      settled = true;
      if (what !== undefined) result.failed.push(what);
      resolve();
    };
    const stream = current(k).request({ ':path': '/' });
    stream.on('response', (headers) => { status = Number(headers[':status']); });
    stream.on('data', (d: Buffer) => { body += d; });
    // A stream never answered was not processed (RFC 9113 §8.7): safe to retry, as browsers and curl do.
    const retry = () => {
      settled = true;
      result.retried++;
      if (sessions[k] === stream.session) sessions[k] = null;
      void once(k).then(resolve);
    };
    stream.on('end', () => {
      if (status === 0) return retry();
      if (status !== 200) return settle(`HTTP ${status}`);
      result.ok++;
      result.workers.add(body.trim());
      settle();
    });
    stream.on('error', (error: Error & { code?: string }) => {
      // Node 24+'s client refuses, itself, a request made on a session in the same moment as
      // the server's GOAWAY reached it: it holds it unsent, since a client may open no stream
      // after a GOAWAY, and refuses it when the session ends.
      if (refusedUnanswered(stream, status) && !settled) return retry();
      settle(`${error.code} ${error.message}`);
    });
    // A stream closed without an end or an error (its session went away) must not hang the load.
    stream.on('close', () => settle(`stream closed unanswered (code ${stream.rstCode})`));
  });
  let running = true;
  const loops = Array.from({ length: 6 }, async (_, i) => { while (running) await once(i % 2); });
  return {
    async stop() {
      running = false;
      await Promise.all(loops);
      for (const session of sessions) session?.close();
      return result;
    },
  };
}


/**
 * A new connection for every request, as a client without keep-alive makes them. An HTTP/2
 * stream that its server closed unprocessed (RFC 9113 §8.7) is retried once, counted.
 */
export function newConnectionLoad(origin: string, h2: boolean) {
  const result: HttpLoadResult = { ok: 0, failed: [], workers: new Set(), retried: 0 };
  const h2WithRetry = () => h2Once(origin).catch((error: Error & { unprocessed?: boolean }) => {
    if (!error.unprocessed) throw error;
    result.retried++;
    return h2Once(origin);
  });
  const once = () => (h2 ? h2WithRetry() : h1Once(origin)).then(
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
      else reject(status === 0 ? unprocessed(stream.rstCode) : new Error(`HTTP ${status}`));
    });
    stream.on('error', (error) => {
      session.destroy();
      // Refused before any answer: never processed (RFC 9113 §8.7), as for the keep-alive load.
      reject(refusedUnanswered(stream, status) ? unprocessed(stream.rstCode) : error);
    });
    // Settles a stream closed without an end or an error (its session went away) too.
    stream.on('close', () => {
      session.destroy();
      reject(status === 0 ? unprocessed(stream.rstCode) : new Error('stream closed before its end'));
    });
  });
}

/** Refused by REFUSED_STREAM before any answer came: never processed (RFC 9113 §8.7). */
const refusedUnanswered = (stream: http2.ClientHttp2Stream, status: number) =>
  status === 0 && stream.rstCode === http2.constants.NGHTTP2_REFUSED_STREAM;

function unprocessed(rstCode: number | undefined): Error {
  return Object.assign(new Error(`stream closed unanswered (code ${rstCode})`), { unprocessed: true });
}
