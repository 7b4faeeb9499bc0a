// End-to-end helpers: run the real naught binary in a fresh folder, and make sure every
// process a test started is gone when it ends, by pid, whatever the test's outcome.
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import path from 'node:path';
import type { Test as TapTest } from 'tap';
import { fixture as fixtureFile, naughtBin } from './paths.js';

export interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

import os from 'node:os';

type Test = { teardown(fn: () => unknown): void };

export class Sandbox {
  readonly dir: string;
  private readonly pids = new Set<number>();
  private readonly children = new Set<ChildProcess>();

  constructor(t: Test) {
    // Short on purpose: a unix socket path must fit in 107 bytes.
    this.dir = fs.mkdtempSync(path.join(os.tmpdir(), 'naught-'));
    t.teardown(() => this.cleanUp());
  }

  path(...parts: string[]): string {
    return path.join(this.dir, ...parts);
  }

  /** Runs `naught args…` to completion in the sandbox. */
  naught(args: string[], env: Record<string, string> = {}, timeoutMs = 30_000): Promise<Run> {
    return this.run(args, { env: { ...process.env, ...env }, timeout: timeoutMs });
  }

  /** Runs `naught args…` as another user (needs root). */
  naughtAs(uid: number, args: string[], env: Record<string, string> = {}): Promise<Run> {
    return this.run(args, { uid, gid: uid, env: { ...process.env, ...env }, timeout: 30_000 });
  }

  /** Runs another install's naught (its bin/naught.js) in the sandbox: `naught upgrade` to it, say. */
  naughtFrom(bin: string, args: string[]): Promise<Run> {
    return this.run(args, { env: process.env, timeout: 60_000 }, bin);
  }

  private run(args: string[], options: { env: NodeJS.ProcessEnv; timeout: number; uid?: number; gid?: number }, bin = naughtBin): Promise<Run> {
    return new Promise((resolve) => {
      const child = execFile(process.execPath, [bin, ...args], { cwd: this.dir, ...options }, (error, stdout, stderr) => {
        this.children.delete(child);
        resolve({ code: error ? (typeof error.code === 'number' ? error.code : null) : 0, stdout, stderr });
        this.rememberDaemon();
      });
      this.children.add(child);
    });
  }

  /** Starts `naught args…` and leaves it running: for deploys to interrupt, or foreground mode. */
  spawn(args: string[], env: Record<string, string> = {}, withIpc = false): ChildProcess & { output: () => Run; exited: Promise<Run> } {
    const child = spawn(process.execPath, [naughtBin, ...args], {
      cwd: this.dir, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe', ...(withIpc ? ['ipc' as const] : [])],
    }) as ChildProcess & { output: () => Run; exited: Promise<Run> };
    let stdout = '';
    let stderr = '';
    child.stdout!.on('data', (d: Buffer) => { stdout += d; });
    child.stderr!.on('data', (d: Buffer) => { stderr += d; });
    child.output = () => ({ code: child.exitCode, stdout, stderr });
    child.exited = new Promise((resolve) => child.on('close', (code) => resolve({ code, stdout, stderr })));
    this.children.add(child);
    if (child.pid) this.pids.add(child.pid);
    return child;
  }

  /** The daemon's pid, from the pid file, remembered for the clean-up. */
  daemonPid(): number | null {
    try {
      const pid = Number.parseInt(fs.readFileSync(this.path('naught.pid'), 'utf8'), 10);
      return Number.isInteger(pid) ? pid : null;
    } catch {
      return null;
    }
  }

  track(pid: number): void {
    this.pids.add(pid);
  }

  private rememberDaemon(): void {
    const pid = this.daemonPid();
    if (pid) this.pids.add(pid);
  }

  private async cleanUp(): Promise<void> {
    this.rememberDaemon();
    const all = new Set<number>();
    for (const pid of this.pids) for (const p of [pid, ...descendants(pid)]) all.add(p);
    for (const child of this.children) if (child.pid) all.add(child.pid);
    all.delete(process.pid);
    all.delete(1);
    all.delete(0); // kill(0) would signal the whole process group: the test runner too
    for (const pid of all) {
      try { process.kill(pid, 'SIGKILL'); } catch { /* already gone */ }
    }
    fs.rmSync(this.dir, { recursive: true, force: true });
  }
}

/** Every live descendant of pid, found through /proc by parent pid. */
export function descendants(pid: number): number[] {
  const parents = new Map<number, number[]>();
  for (const entry of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = fs.readFileSync(`/proc/${entry}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      const list = parents.get(ppid) ?? [];
      list.push(Number(entry));
      parents.set(ppid, list);
    } catch { /* exited while we looked */ }
  }
  const found: number[] = [];
  const visit = (p: number) => { for (const c of parents.get(p) ?? []) { found.push(c); visit(c); } };
  visit(pid);
  return found;
}

export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
    server.on('error', reject);
  });
}

export interface Reply {
  worker: string;
  pid: number;
  greeting: string | null;
  cwd: string;
  argv: string[];
  execArgv: string[];
}

export function get(port: number, agent?: http.Agent, urlPath = '/'): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = http.get({ host: '127.0.0.1', port, path: urlPath, agent: agent ?? false, timeout: 5000 }, (res) => {
      let body = '';
      res.on('data', (d: Buffer) => { body += d; });
      res.on('end', () => {
        if (res.statusCode !== 200) return reject(new Error(`HTTP ${res.statusCode}`));
        try { resolve(JSON.parse(body) as Reply); } catch (error) { reject(error); }
      });
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', reject);
  });
}

/** Polls a condition (never a fixed sleep) until it holds or the deadline passes. */
export async function waitFor<T>(what: string, check: () => T | Promise<T>, timeoutMs = 15_000): Promise<NonNullable<T>> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value) return value as NonNullable<T>;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

export const readText = (file: string): string => (fs.existsSync(file) ? fs.readFileSync(file, 'utf8') : '');

/** naught's printed event line, for building expected output. */
export const line = (event: string, booting: number, online: number, dying: number, newOnline: number): string =>
  `${event}. booting: ${booting}, online: ${online}, dying: ${dying}, new_online: ${newOnline}`;

export const lines = (...items: string[]): string => items.map((l) => l + '\n').join('');

/** The exact stderr of `naught start` for a boot of n workers, all online in order. */
export function bootLines(n: number): string[] {
  const out = [line('Bootup', 0, 0, 0, 0)];
  for (let i = 1; i <= n; i++) out.push(line('SpawnNew', i, 0, 0, 0));
  for (let i = 1; i <= n; i++) out.push(line('NewOnline', n - i, 0, 0, i));
  return out;
}

/** The exact stderr of a deploy of n workers replacing n (Ready is printed as `done`). */
export function deployLines(n: number): string[] {
  const out: string[] = [];
  for (let i = 1; i <= n; i++) out.push(line('SpawnNew', i, n, 0, 0));
  for (let i = 1; i <= n; i++) out.push(line('NewOnline', n - i, n, 0, i));
  for (let i = 1; i <= n; i++) out.push(line('ShutdownOld', 0, n - i, i, n));
  for (let i = 1; i <= n; i++) out.push(line('OldExit', 0, 0, n - i, n));
  return out;
}

export function stopLines(n: number): string[] {
  const out: string[] = [];
  for (let i = 1; i <= n; i++) out.push(line('ShutdownOld', 0, n - i, i, 0));
  for (let i = 1; i <= n; i++) out.push(line('OldExit', 0, 0, n - i, 0));
  return out;
}

/** The cluster master under a sandbox's daemon. */
export const masterOf = (box: Sandbox): number =>
  descendants(box.daemonPid()!).find((pid) => readText(`/proc/${pid}/cmdline`).includes('bin/master.js'))!;

/**
 * naught with 2 workers of `server.cjs`, a link to a fixture that `release` re-points, as
 * a deploy of new code would: for faults in the middle of a deploy from one release to another.
 */
export async function servingRelease(t: TapTest, first: string, env: Record<string, string> = {}) {
  const box = new Sandbox(t);
  const port = await freePort();
  fs.symlinkSync(fixtureFile(first), box.path('server.cjs'));
  const start = await box.naught(['start', '--worker-count', '2', 'server.cjs'], { PORT: String(port), ...env });
  t.equal(start.code, 0, start.stderr);
  t.teardown(() => box.naught(['stop', '--timeout', '1']));
  const release = (file: string) => { fs.rmSync(box.path('server.cjs')); fs.symlinkSync(fixtureFile(file), box.path('server.cjs')); };
  return { box, port, release };
}
