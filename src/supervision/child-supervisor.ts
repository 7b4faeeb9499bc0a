// Keeps one child process running, as an OTP child spec does: spawns it with a link on its
// fd 3, pings it over that link, kills it when it stops answering (a hung event loop),
// and once it has exited and its link has closed (the messages it sent last are read
// first) starts it again after a back-off, saying so in a notice. The daemon supervises
// its master with it, and the plugin supervisor each plugin host.
//
// The policy is data (ChildSpec); what a child's own state decides (a master that fails
// its first boot ends the daemon) is the owner's, through its hooks.
import type { ChildProcess } from 'node:child_process';
import type { Duplex } from 'node:stream';
import type { Bus } from '../bus/bus.js';
import { systemClock, type Clock } from '../bus/clock.js';
import type { HeartbeatTiming } from '../bus/heartbeat.js';
import { createLink, type Link, type LinkOptions } from '../bus/link.js';
import type { MessageOf } from '../bus/messages.js';
import { BACKOFF_RESET_AFTER_MS, nextBackoff } from './backoff.js';

type NoticeCode = MessageOf<'notice'>['code'];

export interface ChildExit {
  pid: number | undefined;
  code: number | null;
  signal: NodeJS.Signals | null;
  /** `exit code 1` or `signal SIGKILL`, as notices say it. */
  how: string;
}

export interface ChildSpec {
  heartbeat: HeartbeatTiming;
  /** Exits that end supervision: stopped as asked, or the child's word that it cannot run as configured. */
  finalExitCodes: readonly number[];
  /** A run this long after ready forgets the earlier failures (backoff.ts). */
  backoffResetAfterMs?: number;
  /** What naught.log says when the child is given up on, and when it is started again. */
  notices: {
    hung: { code: NoticeCode; text(pid: number | undefined, timeoutMs: number): string };
    restarting: { code: NoticeCode; text(exit: ChildExit, delayMs: number): string };
  };
}

export interface ChildRun {
  child: ChildProcess;
  link: Link;
  /** When the child said it was ready (markReady), null before. */
  readySince: number | null;
}

export type ChildEnd = 'stopped' | 'final' | 'declined';

export interface ChildHooks {
  bus: Bus;
  /** Starts the child with a pipe on its fd 3. */
  spawn(): { child: ChildProcess; pipe: Duplex };
  /** The link's options, less the heartbeat, which the spec gives. */
  link: Omit<LinkOptions, 'heartbeat'>;
  /** Each new run, once linked. */
  started?(run: ChildRun): void;
  /** Whether a child that exited (not finally) is started again; yes if absent. */
  mayRestart?(exit: ChildExit): boolean;
  /** Supervision is over: stop() was called, the exit code was final, or mayRestart said no. */
  ended?(exit: ChildExit | null, why: ChildEnd): void;
  clock?: Clock;
}

export interface ChildSupervisor {
  current(): ChildRun | null;
  /** The running child is ready: its run counts toward forgetting earlier failures from now. */
  markReady(): void;
  /** Children started, the first one included. */
  readonly starts: number;
  /**
   * No more restarts. With `closeLinkAndKillAfterMs` the running child's link is closed (its
   * cue to stop) and the child killed if it has not exited by then. Resolves once no child runs.
   */
  stop(options?: { closeLinkAndKillAfterMs?: number }): Promise<void>;
}

export function superviseChild(spec: ChildSpec, hooks: ChildHooks): ChildSupervisor {
  const clock = hooks.clock ?? systemClock;
  const { bus } = hooks;
  let run: ChildRun | null = null;
  let exited: Promise<void> = Promise.resolve();
  let failures = 0;
  let starts = 0;
  let cancelRestart: (() => void) | null = null;
  let stopping = false;
  let endedOnce = false;

  const end = (exit: ChildExit | null, why: ChildEnd) => {
    if (endedOnce) return;
    endedOnce = true;
    hooks.ended?.(exit, why);
  };

  function start(): void {
    cancelRestart = null;
    const { child, pipe } = hooks.spawn();
    const link = createLink(bus, pipe, { ...hooks.link, heartbeat: spec.heartbeat });
    const thisRun: ChildRun = { child, link, readySince: null };
    run = thisRun;
    starts++;
    const alive = () => child.exitCode === null && child.signalCode === null;
    child.on('error', () => {});
    void link.closed.then((error) => {
      if (!error || stopping || !alive()) return;
      if (error.code === 'LINK_PEER_UNRESPONSIVE') {
        bus.publish({ type: 'notice', code: spec.notices.hung.code, message: spec.notices.hung.text(child.pid, spec.heartbeat.timeoutMs) });
      }
      // A child whose link broke can no longer be told anything.
      child.kill('SIGKILL');
    });
    exited = new Promise((resolve) => {
      child.on('exit', (code, signal) => {
        void link.closed.then(() => {
          resolve();
          childExited(thisRun, { pid: child.pid, code, signal, how: signal ? `signal ${signal}` : `exit code ${code}` });
        });
      });
    });
    hooks.started?.(thisRun);
  }

  function childExited(ended: ChildRun, exit: ChildExit): void {
    if (run === ended) run = null;
    if (stopping) return end(exit, 'stopped');
    if (exit.code !== null && spec.finalExitCodes.includes(exit.code)) return end(exit, 'final');
    if (hooks.mayRestart && !hooks.mayRestart(exit)) return end(exit, 'declined');
    const backoff = nextBackoff(failures, ended.readySince, clock.now(), spec.backoffResetAfterMs ?? BACKOFF_RESET_AFTER_MS);
    failures = backoff.failures;
    bus.publish({ type: 'notice', code: spec.notices.restarting.code, message: spec.notices.restarting.text(exit, backoff.delayMs) });
    cancelRestart = clock.after(backoff.delayMs, start);
  }

  start();
  return {
    current: () => run,
    markReady() {
      if (run && run.readySince === null) run.readySince = clock.now();
    },
    get starts() { return starts; },
    async stop(options = {}) {
      stopping = true;
      cancelRestart?.();
      cancelRestart = null;
      const running = run;
      if (!running) return end(null, 'stopped');
      if (options.closeLinkAndKillAfterMs === undefined) return exited;
      running.link.close();
      const cancelKill = clock.after(options.closeLinkAndKillAfterMs, () => running.child.kill('SIGKILL'));
      await exited;
      cancelKill();
    },
  };
}
