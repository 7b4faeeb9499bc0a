// In the daemon: `naught upgrade`. It starts the naught the CLI came from as its own child,
// which takes over the sockets and the state and boots a full set of workers beside ours.
// Once they are online, this daemon hands over the control socket and drains its own.
//
//   old daemon ──cmd.take-over──▶ new daemon (fd 3; fds 5.. : control, listeners, health)
//              ◀─pool.event, notice, upgrade.ready──
//              ──upgrade.handed-over──▶   then the old master stops; the old daemon exits
//              ──cmd.stop──▶              instead, if the asker went away before the hand-over
//
// The new daemon's messages stay on a bus of their own here: its pool is not ours.
import fs from 'node:fs';
import { unsafeToRun } from '../files/owned-paths.js';
import type { ChildProcess } from 'node:child_process';
import { createBus, type Bus } from '../bus/bus.js';
import { spawnWithPipe } from '../bus/fd3.js';
import { SUPERVISOR_V8_FLAGS } from '../supervision/constants.js';
import { createLink } from '../bus/link.js';
import type { Counts, PoolEvent, TakeOverState } from '../bus/messages.js';
import { packageVersion } from '../version.js';

export interface UpgradeDeps {
  bus: Bus;
  /** What the new daemon needs, or why there can be no upgrade now. */
  state(): TakeOverState | { refused: string };
  /** The new daemon is ready: stop answering, give it the sockets, the pid file and systemd. */
  handOver(newDaemon: ChildProcess): Promise<void>;
  /** The asker went away: nobody waits on the upgrade. */
  askerGone(requestId: string): Promise<void>;
}

/** The first descriptor passed to the new daemon: after stdio, the bus pipe (3) and the IPC channel (4). */
const FIRST_PASSED_FD = 5;
const ABANDONED_STOP_MS = 5_000;

export function createUpgradeActor({ bus, state, handOver, askerGone }: UpgradeDeps): () => void {
  let running: string | null = null;
  let oldCounts: Counts = { booting: 0, online: 0, dying: 0, new_online: 0 };
  const offCounts = bus.on('pool.event', ({ count }) => { oldCounts = count; });
  const from = packageVersion();
  const end = (requestId: string, outcome: 'done' | 'failed' | 'refused', to: string | null, reason: string | null) => {
    bus.publish({ type: 'upgrade.ended', requestId, outcome, from, to, reason });
  };

  const offUpgrade = bus.on('cmd.upgrade', ({ requestId, daemonEntry }) => {
    if (running) return end(requestId, 'refused', null, 'an upgrade is under way already');
    const now = state();
    if ('refused' in now) return end(requestId, 'refused', null, now.refused);
    if (!fs.existsSync(daemonEntry)) return end(requestId, 'refused', null, `there is no naught daemon at ${daemonEntry}`);
    // The daemon runs as its user (often root) what a client names: only what no one else could have changed.
    const unsafe = unsafeToRun(daemonEntry);
    if (unsafe !== null) return end(requestId, 'refused', null, `will not run ${daemonEntry}: ${unsafe}`);
    running = requestId;
    upgrade(requestId, daemonEntry, now);
  });

  function upgrade(requestId: string, daemonEntry: string, now: TakeOverState): void {
    const passed = [now.control, ...now.listeners.fds, ...(now.health === null ? [] : [now.health])];
    const at = (i: number) => FIRST_PASSED_FD + i;
    const out = now.take.foreground ? 'inherit' : 'ignore';
    // Its own session: a Ctrl+C meant for a foreground naught does not reach it.
    const { child, pipe } = spawnWithPipe([...SUPERVISOR_V8_FLAGS, daemonEntry], {
      detached: true, cwd: now.take.config.cwd, env: process.env, stdio: ['ignore', out, out], handles: true, passFds: passed,
    });
    child.unref();
    const newBus = createBus('upgrade');
    const link = createLink(newBus, pipe, { name: 'daemon', wants: ['pool.event', 'notice', 'upgrade.ready'], carrySecrets: true });
    const say = (line: string) => {
      bus.publish({ type: 'notice', code: 'UPGRADE', message: line });
      bus.publish({ type: 'upgrade.progress', requestId, event: null, line });
    };
    newBus.publish({
      type: 'cmd.take-over', ...now.take,
      fds: {
        control: at(0), listeners: now.listeners.fds.map((_, i) => at(1 + i)), listenerNames: now.listeners.names,
        health: now.health === null ? null : at(1 + now.listeners.fds.length),
      },
    });
    say(`Upgrading: naught ${from} (pid ${process.pid}) starts naught from ${daemonEntry} (pid ${child.pid}), which boots a full set of workers.`);

    let newCounts: Counts = { booting: 0, online: 0, dying: 0, new_online: 0 };
    let to: string | null = null;
    let handedOver = false;
    let lastNotice: string | null = null;
    // Told as one deploy: the new daemon's workers are new_online, ours online, then dying.
    const tell = (event: PoolEvent['event'], waitingFor: PoolEvent['waitingFor']) => {
      const count = {
        booting: newCounts.booting, online: oldCounts.online + oldCounts.new_online, dying: oldCounts.dying + newCounts.dying, new_online: newCounts.online + newCounts.new_online,
      };
      bus.publish({ type: 'upgrade.progress', requestId, event: { event, waitingFor, count }, line: null });
    };

    const offs = [
      newBus.on('pool.event', ({ event, count }) => {
        newCounts = count;
        // The new pool's own boot and Ready are not the upgrade's.
        if (event !== 'Ready' && event !== 'Bootup') tell(event, 'new');
      }),
      newBus.on('notice', ({ message }) => {
        lastNotice = message;
        bus.publish({ type: 'upgrade.progress', requestId, event: null, line: message });
      }),
      newBus.on('upgrade.ready', ({ version }) => {
        to = version;
        void handOver(child).then(() => {
          handedOver = true;
          newBus.publish({ type: 'upgrade.handed-over', fromPid: process.pid });
          say(`Upgrading: naught ${version} (pid ${child.pid}) answers on the control socket now; the old workers drain.`);
        });
      }),
      bus.on('pool.event', ({ event }) => {
        if (to === null) return;
        if (event === 'Shutdown') {
          const online = newCounts.online + newCounts.new_online;
          bus.publish({ type: 'upgrade.progress', requestId, event: { event: 'Ready', waitingFor: null, count: { booting: 0, online, dying: 0, new_online: 0 } }, line: null });
          // For naught.log, after this daemon's own Shutdown line: the server did not stop.
          bus.publish({ type: 'notice', code: 'UPGRADE', message: `Upgraded: naught ${from} (pid ${process.pid}) exits; naught ${to} (pid ${child.pid}) runs the workers.` });
          end(requestId, 'done', to, null);
        } else {
          tell(event, 'old');
        }
      }),
    ];
    void link.closed.then(() => {
      if (handedOver) return;
      for (const off of offs) off();
      running = null;
      const why = lastNotice ? `: ${lastNotice.replace(/\.$/, '')}` : '';
      end(requestId, 'failed', to, `the new daemon (pid ${child.pid}) exited before its workers were online${why}. naught ${from} runs on, unchanged.`);
    });
    void askerGone(requestId).then(() => {
      if (handedOver || running !== requestId) return;
      say(`Upgrading: the command that asked went away before the new workers were online; the new daemon is stopped (its workers get ${ABANDONED_STOP_MS / 1000} s to drain).`);
      // A stop as any client asks for one, bounded: workers still booting are not waited for long.
      newBus.publish({ type: 'cmd.stop', requestId: `upgrade:${requestId}`, timeoutMs: ABANDONED_STOP_MS });
    });
  }

  return () => {
    offCounts();
    offUpgrade();
  };
}
