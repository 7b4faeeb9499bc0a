// Both ends of `naught upgrade`'s hand-over in a daemon (upgrade.ts runs the protocol).
// The old daemon says what the new one takes (the config, the release, the descriptors of
// the control, listening and health sockets), and once the new workers are online stops
// answering: it passes on every connection it still accepts, unread, since closing its
// servers would unlink the socket paths the new daemon serves on. The new daemon serves
// on the descriptors it was given once told it has them (upgrade.handed-over), and takes
// the connections passed to it until then.
import net from 'node:net';
import type { ChildProcess } from 'node:child_process';
import type { Bus, Unsubscribe } from '../bus/bus.js';
import type { Message, MessageOf, TakeOverState } from '../bus/messages.js';

type Passed = 'control' | 'health';
/** A listening server of this daemon's, as the control socket and the health endpoint are. */
interface Served { readonly server: net.Server | null; accept(socket: net.Socket): void }

export interface HandOverDeps {
  bus: Bus;
  control: Served & { listen(fd: number): Promise<void>; handedOver(successorStatus: (requestId: string) => Message[]): void };
  health: { server: net.Server; handedOver(): void; closeKeptAlive(): void; serve(): Promise<void> } | null;
  listeners: TakeOverState['listeners'];
  /** Why the workers cannot be handed over now (booting, deploying), or null. */
  busy(): string | null;
  take(): TakeOverState['take'];
  /** What a status asked of this daemon after the hand-over answers: the successor's, fully online. */
  successorStatus(requestId: string): Message[];
  /** Stops what only the daemon in charge runs (systemd's main pid, the plugins). */
  giveUp(newDaemonPid: number): Promise<void>;
  /** Starts it, once this daemon is in charge (the pid file, the plugins, systemd). */
  takeUp(): Promise<void>;
}

export interface HandOver {
  /** This daemon has the control socket: it never had to take it over, or it has, and has not handed it on. */
  owns(): boolean;
  /** upgrade.ts's state(). */
  state(): TakeOverState | { refused: string };
  /** upgrade.ts's handOver(): the new daemon is ready. */
  handOver(newDaemon: ChildProcess): Promise<void>;
  close(): void;
}

export function createHandOverActor(deps: HandOverDeps, takeOver?: MessageOf<'cmd.take-over'>): HandOver {
  const { bus, control, health } = deps;
  let owns = !takeOver;
  const offs: Unsubscribe[] = [];
  if (takeOver) {
    offs.push(bus.on('upgrade.handed-over', () => void takeControl(takeOver.fds.control)));
    const passedIn = (message: { naught?: string; to?: Passed } | null, handle: unknown) => {
      if (message?.naught !== 'connection' || !(handle instanceof net.Socket)) return;
      if (message.to === 'control') control.accept(handle);
      else if (health) health.server.emit('connection', handle);
      else handle.destroy();
    };
    process.on('message', passedIn);
    offs.push(() => process.off('message', passedIn));
  }

  async function takeControl(fd: number): Promise<void> {
    if (owns) return;
    owns = true;
    await control.listen(fd);
    await deps.takeUp();
  }

  return {
    owns: () => owns,
    state() {
      if (!owns || !control.server) return { refused: 'this daemon is handing over to another already' };
      if (deps.listeners.fds.length === 0) {
        return {
          refused: 'this naught holds no listening sockets, so the port would refuse connections while the old workers close and the new ones bind. ' +
            'Start naught with --listen ADDR (or under systemd socket activation) and serve with naught/worker\'s listen(server).',
        };
      }
      const busy = deps.busy();
      if (busy !== null) return { refused: busy };
      return { take: deps.take(), control: descriptorOf(control.server), listeners: deps.listeners, health: health ? descriptorOf(health.server) : null };
    },
    async handOver(newDaemon) {
      owns = false;
      control.handedOver(deps.successorStatus);
      await deps.giveUp(newDaemon.pid!);
      passConnections(control.server!, 'control', newDaemon);
      if (health) {
        health.handedOver();
        passConnections(health.server, 'health', newDaemon);
        health.closeKeptAlive();
      }
      bus.publish({ type: 'cmd.stop', requestId: `upgrade:${newDaemon.pid}`, timeoutMs: null });
    },
    close() {
      for (const off of offs) off();
    },
  };
}

const descriptorOf = (server: net.Server): number => (server as unknown as { _handle: { fd: number } })._handle.fd;

function passConnections(server: net.Server, to: Passed, newDaemon: ChildProcess): void {
  (server as net.Server & { pauseOnConnect: boolean }).pauseOnConnect = true;
  server.removeAllListeners('connection');
  server.on('connection', (socket: net.Socket) => {
    newDaemon.send({ naught: 'connection', to }, socket, undefined, (error) => { if (error) socket.destroy(); });
  });
}
