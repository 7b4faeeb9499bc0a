#!/usr/bin/env node
// The naught command line's entry point. `version` and a plain `status`, which scripts and
// people run most, load only what they need: for them, loading modules is most of the
// time. Every other command loads commander and all the commands (../cli/main.ts).
// (A fast path for deploy and stop measured no gain: their time is the workers'.)
import { stdio as io } from '../cli/stdio.js';

async function run(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (name === 'version' && rest.length === 0) {
    const { packageVersion } = await import('../version.js');
    io.out(packageVersion() + '\n');
    return 0;
  }
  if (name === 'status' && rest.length <= 1 && !rest.some((arg) => arg.startsWith('-'))) {
    const { status } = await import('../cli/talk.js');
    return status(io, rest[0] ?? 'naught.ipc');
  }
  const { main } = await import('../cli/main.js');
  return main(argv);
}

// A reader that went away (`naught logs -f | head`) ends us quietly.
process.stdout.on('error', (error: NodeJS.ErrnoException) => { if (error.code === 'EPIPE') process.exit(process.exitCode ?? 0); });
process.exitCode = await run(process.argv.slice(2));
// Output to a socket or a slow pipe may still be queued: exit only once it is written.
await Promise.all([process.stdout, process.stderr].map((stream) => new Promise((resolve) => stream.write('', resolve))));
// Only here does the process end: the daemon and its master live on without us.
process.exit();
