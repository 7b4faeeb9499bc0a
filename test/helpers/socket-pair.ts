// Two ends of a real unix socket, for the tests of what talks over the control socket.
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { once } from 'node:events';
import type { Test } from 'tap';

export async function socketPair(t: Test): Promise<{ client: net.Socket; server: net.Socket }> {
  const folder = fs.mkdtempSync(path.join(os.tmpdir(), 'naught-pair-'));
  const listening = net.createServer().listen(path.join(folder, 's'));
  await once(listening, 'listening');
  const accepted = once(listening, 'connection') as Promise<[net.Socket]>;
  const client = net.connect(path.join(folder, 's'));
  const [server] = await accepted;
  listening.close();
  fs.rmSync(folder, { recursive: true, force: true });
  t.teardown(() => { client.destroy(); server.destroy(); });
  return { client, server };
}
