// In the daemon: every release that reached Ready is a generation (the boot, each deploy,
// each rollback), with the real paths of its script and cwd (a Capistrano `current`
// symlink resolved), its environment and worker count. It answers `naught history`, and
// turns `naught rollback` into a deploy of a generation's release. The last 20 live in a
// 0600 file next to the pid file, so that a restarted daemon (and so a new master) keeps
// them and numbers on.
import fs from 'node:fs';
import path from 'node:path';
import type { Bus } from '../bus/bus.js';
import type { DaemonConfig, Generation, MessageOf, ServerConfig } from '../bus/messages.js';
import { readOwnState, replaceFile, UntrustedState } from '../files/owned-paths.js';

const KEPT = 20;

export interface Generations {
  /** The number a boot's workers get: the current one after a master restart, the next on a start. */
  bootGeneration(firstBoot: boolean): number;
  /** The generation the workers run; null before the first Ready. */
  current(): number | null;
  close(): void;
}

export const generationsFile = (pidFile: string): string =>
  path.join(path.dirname(pidFile), `${path.basename(pidFile, path.extname(pidFile))}.generations.json`);

export function createGenerationsActor(deps: {
  bus: Bus; config: DaemonConfig;
  /** The release the workers run now. */
  release: () => ServerConfig;
  /** The release a deploy under way would make (the daemon's reckoning of its cmd.deploy). */
  deploying: (requestId: string) => ServerConfig | undefined;
}): Generations {
  const { bus, config, release, deploying } = deps;
  const file = generationsFile(config.pidFile);
  const loaded = load(file);
  let history = loaded.history;
  if (loaded.refused) {
    bus.publish({ type: 'notice', code: 'HISTORY_REFUSED', message: `Refusing the history: ${loaded.refused}; starting with an empty one. naught rollback runs the scripts it names, so only a file of naught's own user, writable by no one else, is read.` });
  }
  let current: number | null = null;
  const drafts = new Map<string, Omit<Generation, 'generation' | 'at'>>();
  let booting: { generation: number; draft: Omit<Generation, 'generation' | 'at'> } | null = null;

  const draftOf = (server: ServerConfig, env: Record<string, string> | null): Omit<Generation, 'generation' | 'at'> => ({
    script: realPath(server.script), cwd: realPath(server.cwd), env: server.env,
    // Against what the workers had: the daemon's environment (the master inherits it) and the release's.
    envChanged: Object.keys(env ?? {}).filter((name) => (release().env[name] ?? process.env[name]) !== env![name]).sort(),
    workerCount: server.workerCount,
  });

  const record = (generation: number, draft: Omit<Generation, 'generation' | 'at'>) => {
    current = generation;
    history = [...history.filter((g) => g.generation !== generation), { generation, at: new Date().toISOString(), ...draft }].slice(-KEPT);
    const failed = save(file, history);
    if (failed) bus.publish({ type: 'notice', code: 'HISTORY_WRITE_FAILED', message: `Cannot write ${file}: ${failed}. The history is kept in memory only.` });
  };

  const offs = [
    bus.on('cmd.boot', ({ config: server, generation }) => {
      booting = history.some((g) => g.generation === generation) ? null : { generation, draft: draftOf(server, null) };
      if (!booting) current = generation;
    }),
    bus.on('pool.event', ({ event }) => {
      if (event !== 'Ready' || !booting) return;
      record(booting.generation, booting.draft);
      booting = null;
    }),
    // The daemon has worked out the deploy's release by now (its handler comes first): its real paths are taken before anything moves.
    bus.on('cmd.deploy', ({ requestId, env }) => {
      const asked = deploying(requestId);
      if (asked) drafts.set(requestId, draftOf(asked, env));
    }),
    bus.on('pool.reply', ({ requestId }) => { drafts.delete(requestId); }),
    bus.on('deploy.settled', ({ requestId, running, generation }) => {
      const draft = drafts.get(requestId);
      drafts.delete(requestId);
      if (running === 'new' && draft) record(generation, draft);
    }),
    bus.on('cmd.history', ({ requestId }) => {
      bus.publish({ type: 'history.list', requestId, generations: history, current });
    }),
    bus.on('cmd.rollback', (msg) => rollback(msg)),
  ];

  function rollback({ requestId, to }: MessageOf<'cmd.rollback'>): void {
    const refuse = (reason: string) => { bus.publish({ type: 'rollback.refused', requestId, reason }); };
    const target = to === null
      ? [...history].reverse().find((g) => current === null || g.generation < current)
      : history.find((g) => g.generation === to);
    if (!target) {
      return refuse(to === null ? 'there is no earlier generation to roll back to (naught history lists them)' : `there is no generation ${to} (naught history lists the last ${KEPT})`);
    }
    const gone = [target.cwd, target.script].find((p) => !fs.existsSync(p));
    if (gone) return refuse(`generation ${target.generation}'s release is gone: ${gone} does not exist`);
    bus.publish({
      type: 'cmd.deploy', requestId, workerCount: target.workerCount, env: target.env, cwd: target.cwd, script: target.script, timeoutMs: null,
    });
  }

  return {
    bootGeneration(firstBoot) {
      const last = history.at(-1)?.generation ?? 0;
      return firstBoot ? last + 1 : current ?? last + 1;
    },
    current: () => current,
    close() {
      for (const off of offs) off();
    },
  };
}

function realPath(p: string): string {
  try {
    return fs.realpathSync(p);
  } catch {
    return p;
  }
}

/** `refused`: why a file there was not read (another user's, or writable by others). */
function load(file: string): { history: Generation[]; refused: string | null } {
  try {
    const text = readOwnState(file);
    const parsed = text === null ? [] : JSON.parse(text) as unknown;
    const history = Array.isArray(parsed) ? parsed.filter((g): g is Generation => Number.isInteger((g as Generation)?.generation)).slice(-KEPT) : [];
    return { history, refused: null };
  } catch (error) {
    return { history: [], refused: error instanceof UntrustedState ? error.message : null };
  }
}

/** The environment may hold secrets: the owner's alone, like the trace. Returns why it could not. */
function save(file: string, history: Generation[]): string | null {
  try {
    replaceFile(file, JSON.stringify(history, null, 2) + '\n', 0o600);
    return null;
  } catch (error) {
    return (error as Error).message;
  }
}
