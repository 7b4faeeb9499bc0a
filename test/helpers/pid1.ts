// A command as a container's PID 1: in a new PID namespace (util-linux unshare, as root),
// its output kept, its exit awaited. Every process is the sandbox's to stop.
import fs from 'node:fs';
import { spawn } from 'node:child_process';
import { waitFor, type Sandbox } from './naught.js';

export const childrenOf = (pid: number): number[] => {
  try {
    return fs.readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').split(' ').filter(Boolean).map(Number);
  } catch {
    return [];
  }
};
export const nsPid = (pid: number): string => /^NSpid:\s+(.*)$/m.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? '';

export interface Pid1Run {
  /** The command's pid as the host sees it (PID 1 inside). */
  pid: number;
  stdout(): string;
  stderr(): string;
  exited: Promise<number | null>;
}

export async function runAsPid1(box: Sandbox, argv: string[], options: { cwd: string; env: NodeJS.ProcessEnv }): Promise<Pid1Run> {
  const container = spawn('unshare', ['--pid', '--fork', '--mount-proc', ...argv], { ...options, stdio: ['ignore', 'pipe', 'pipe'] });
  box.track(container.pid!);
  let stdout = '';
  let stderr = '';
  container.stdout.on('data', (d: Buffer) => { stdout += d; });
  container.stderr.on('data', (d: Buffer) => { stderr += d; });
  const exited = new Promise<number | null>((resolve) => container.on('close', (code) => resolve(code)));
  const pid = await waitFor('the command inside', () => childrenOf(container.pid!)[0]);
  box.track(pid);
  return { pid, stdout: () => stdout, stderr: () => stderr, exited };
}

/** naught's `Ready` lines with every worker online and none dying, on its stderr. */
export const readyLines = (stderr: string, workers: number): number =>
  (stderr.match(new RegExp(`^Ready\\. booting: 0, online: ${workers}, dying: 0, new_online: 0$`, 'gm')) ?? []).length;
