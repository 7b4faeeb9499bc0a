// A bounded HTTP load on 127.0.0.1, keep-alive or a new connection per request, that
// records every failure with its time. The only retry is the one every HTTP/1.1 client
// must make (RFC 9112 §9.3.1, and Node's docs on `reusedSocket`): a request written on a
// reused keep-alive socket that the server closed before answering. Retries are counted.
import http from 'node:http';

export interface LoadOptions {
  port: number;
  keepAlive: boolean;
  concurrency: number;
  maxRequests: number;
  maxMs: number;
}

export interface LoadResult {
  ok: number;
  retried: number;
  /** `at`: when the failed request was sent. */
  failures: { at: number; reason: string }[];
}

export interface Load {
  stop(): Promise<LoadResult>;
}

export function startLoad(options: LoadOptions): Load {
  const agent = options.keepAlive ? new http.Agent({ keepAlive: true, maxSockets: options.concurrency }) : false;
  const result: LoadResult = { ok: 0, retried: 0, failures: [] };
  const deadline = Date.now() + options.maxMs;
  let running = true;
  let sent = 0;

  async function loop(): Promise<void> {
    while (running && Date.now() < deadline && sent < options.maxRequests) {
      sent++;
      const at = Date.now();
      try {
        await request(options.port, agent, () => { result.retried++; });
        result.ok++;
      } catch (error) {
        result.failures.push({ at, reason: (error as Error).message });
      }
    }
  }

  const loops = Array.from({ length: options.concurrency }, loop);
  return {
    async stop() {
      running = false;
      await Promise.all(loops);
      if (agent) agent.destroy();
      return result;
    },
  };
}

function request(port: number, agent: http.Agent | false, onRetry: () => void, retry = true): Promise<void> {
  return new Promise((resolve, reject) => {
    const req = http.get({ host: '127.0.0.1', port, path: '/', agent, timeout: 5000 }, (res) => {
      res.resume();
      res.on('end', () => (res.statusCode === 200 ? resolve() : reject(new Error(`HTTP ${res.statusCode}`))));
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', (error: NodeJS.ErrnoException) => {
      if (retry && req.reusedSocket && error.code === 'ECONNRESET') {
        onRetry();
        request(port, agent, onRetry, false).then(resolve, reject);
      } else {
        reject(error);
      }
    });
  });
}
