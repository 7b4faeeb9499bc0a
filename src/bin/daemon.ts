// Entry point of the detached daemon process. The CLI that spawned it sends cmd.start over
// fd 3 and reads the boot's events back on the same pipe, so none can be missed. Under
// `naught upgrade` the old daemon spawned it instead and sends cmd.take-over.
import { createBus } from '../bus/bus.js';
import { openParentPipe } from '../bus/fd3.js';
import { createLink } from '../bus/link.js';
import { createDaemonActor, type DaemonDeps } from '../actors/daemon.js';

const bus = createBus('daemon');
const starter = createLink(bus, openParentPipe(), { name: 'daemon', wants: ['cmd.start', 'cmd.take-over', 'upgrade.handed-over', 'cmd.stop'] });
let started = false;

process.on('uncaughtException', (error) => {
  bus.publish({ type: 'notice', code: 'DAEMON_FAULT', message: `Error: daemon: ${error.stack ?? error.message}` });
});

bus.on('cmd.start', ({ config }) => run({ bus, config, foreground: false }));
bus.on('cmd.take-over', (takeOver) => run({ bus, config: takeOver.config, foreground: takeOver.foreground, takeOver }));

function run(deps: DaemonDeps): void {
  if (started) return;
  started = true;
  createDaemonActor(deps).then(
    async (daemon) => exitAfterFlush(await daemon.done),
    (error: Error) => {
      bus.publish({ type: 'notice', code: 'DAEMON_START_FAILED', message: error.message });
      exitAfterFlush(1);
    },
  );
}

void starter.closed.then(() => {
  // The CLI gave up before asking for anything: nothing to run.
  if (!started) process.exit(1);
});

function exitAfterFlush(code: number): void {
  starter.close();
  setTimeout(() => process.exit(code), 50);
}
