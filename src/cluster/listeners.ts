// The listening sockets naught passes to its workers: those systemd activated for it
// (LISTEN_FDS) and those `start --listen` asks the daemon to bind. Either way the daemon
// holds the descriptors and never accepts on them; every worker accepts on them itself
// (naught/worker's listen()), and they outlive workers, deploys and masters.
import { fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { listenSpec, type ListenSpec } from './addresses.js';

export interface Listeners { fds: number[]; names: string[] }

const BINDER = fileURLToPath(new URL('../bin/binder.js', import.meta.url));
/** Bare handles, kept so that their descriptors stay open as long as the daemon runs. */
const held: unknown[] = [];

/** Sockets systemd passed this process; the variables are removed, so that no child takes them for its own. */
export function activatedSockets(env: NodeJS.ProcessEnv = process.env): Listeners {
  const { LISTEN_PID, LISTEN_FDS, LISTEN_FDNAMES } = env;
  delete env.LISTEN_PID;
  delete env.LISTEN_FDS;
  delete env.LISTEN_FDNAMES;
  const count = Number(LISTEN_FDS);
  if (Number(LISTEN_PID) !== process.pid || !Number.isInteger(count) || count <= 0) return { fds: [], names: [] };
  const fds = Array.from({ length: count }, (_, i) => 3 + i);
  const given = LISTEN_FDNAMES?.split(':') ?? [];
  return { fds, names: fds.map((_, i) => given[i] || 'unknown') };
}

/** Binds each in a short-lived child, which hands the bare handle over: this process never accepts on it. */
export async function bindListeners(specs: readonly ListenSpec[]): Promise<Listeners> {
  const fds: number[] = [];
  for (const spec of specs) fds.push(await bindOne(spec));
  return { fds, names: specs.map((spec) => spec.name) };
}

function bindOne(spec: ListenSpec): Promise<number> {
  const where = spec.kind === 'unix' ? `unix:${spec.path}` : `${spec.host}:${spec.port}`;
  const args = spec.kind === 'unix' ? ['unix', spec.path] : ['tcp', spec.host, String(spec.port)];
  return new Promise((resolve, reject) => {
    const binder = fork(BINDER, args, { stdio: ['ignore', 'ignore', 'inherit', 'ipc'] });
    binder.once('message', (message: { ok: boolean; error?: string }, handle: unknown) => {
      const fd = (handle as { fd?: number } | undefined)?.fd;
      if (!message.ok || typeof fd !== 'number' || fd < 0) return reject(new Error(`cannot --listen on ${where}: ${message.error ?? 'no socket came back'}`));
      held.push(handle);
      resolve(fd);
    });
    binder.once('exit', (code) => reject(new Error(`cannot --listen on ${where}: the binder exited (${code})`)));
  });
}

/** What a starting daemon hands its masters: the sockets systemd activated, then those `--listen` asks it to bind. */
export async function listenersForDaemon(listen: readonly string[]): Promise<Listeners> {
  const activated = activatedSockets();
  const owned = await bindListeners(listen.map((value, i) => listenSpec(value, i)!));
  return { fds: [...activated.fds, ...owned.fds], names: [...activated.names, ...owned.names] };
}
