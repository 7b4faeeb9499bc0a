import net from 'node:net';
import { spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';
import type { Duplex } from 'node:stream';

/** The child's end of the pipe its parent opened on fd 3. */
export function openParentPipe(): net.Socket {
  return new net.Socket({ fd: 3, readable: true, writable: true });
}

/** Spawns a node child with a duplex pipe on its fd 3 (not Node's JSON IPC channel). */
export function spawnWithPipe(
  args: string[],
  options: Omit<SpawnOptions, 'stdio'> & { stdio?: ['ignore' | 'pipe' | 'inherit', 'ignore' | 'pipe' | 'inherit', 'ignore' | 'pipe' | 'inherit'] },
): { child: ChildProcess; pipe: Duplex } {
  const child = spawn(process.execPath, args, { ...options, stdio: [...(options.stdio ?? ['ignore', 'inherit', 'inherit']), 'pipe'] });
  return { child, pipe: child.stdio[3] as Duplex };
}
