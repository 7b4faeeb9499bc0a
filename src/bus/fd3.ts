import net from 'node:net';
import { spawn, type ChildProcess, type SpawnOptions, type StdioOptions } from 'node:child_process';
import type { Duplex } from 'node:stream';

/** The child's end of the pipe its parent opened on fd 3. */
export function openParentPipe(): net.Socket {
  return new net.Socket({ fd: 3, readable: true, writable: true });
}

/**
 * Spawns a node child with a duplex pipe on its fd 3 for the bus. `handles` adds Node's IPC
 * channel on fd 4, used only to pass file descriptors (which a plain pipe cannot carry).
 */
export function spawnWithPipe(
  args: string[],
  options: Omit<SpawnOptions, 'stdio'> & {
    stdio?: ['ignore' | 'pipe' | 'inherit', 'ignore' | 'pipe' | 'inherit', 'ignore' | 'pipe' | 'inherit']; handles?: boolean;
    /** Descriptors of this process the child gets next, in order (after fd 3, and the IPC channel if any). */
    passFds?: readonly number[];
  },
): { child: ChildProcess; pipe: Duplex } {
  const { handles, passFds, ...spawnOptions } = options;
  const stdio: StdioOptions = [...(options.stdio ?? ['ignore', 'inherit', 'inherit']), 'pipe', ...(handles ? ['ipc' as const] : []), ...(passFds ?? [])];
  const child: ChildProcess = spawn(process.execPath, args, { ...spawnOptions, stdio });
  return { child, pipe: child.stdio[3] as Duplex };
}
