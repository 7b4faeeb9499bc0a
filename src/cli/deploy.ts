// `naught deploy` and `naught rollback` (a deploy of a generation's release): naught 1.6's
// lines, the workers' last words on a terminal, `--probation`'s outcome, Ctrl+C aborts.
import { newRequestId } from '../bus/request-id.js';
import type { Message } from '../bus/messages.js';
import { isEvent, printOther, talk, type Io } from './talk.js';
import { createPoolProgress } from './boot-progress.js';
import { lastWordsPrinter } from './last-words.js';

export interface DeployOptions {
  workerCount: number;
  env: Record<string, string> | null;
  cwd: string;
  timeoutMs: number | null;
  /** `--probation S`: wait this long after done, and roll back if a new worker fails meanwhile. */
  probationMs: number | null;
  /** `--batch-size N`: replace N workers at a time. */
  batchSize: number | null;
}

/** The CLI's environment, which a deploy gives the new workers (`--override-env true`). */
export function definedEnv(): Record<string, string> {
  return Object.fromEntries(Object.entries(process.env).filter((entry): entry is [string, string] => entry[1] !== undefined));
}

/** `deploy`, or `rollback` (a deploy of a generation's release, which the daemon may refuse). */
export function deploy(plainIo: Io, ipcFile: string, options: DeployOptions | { rollbackTo: number | null }): Promise<number> {
  let onSigint: (() => void) | null = null;
  const progress = createPoolProgress(plainIo, process.stderr.isTTY === true, 'deploy');
  const io = progress.io;
  const lastWords = lastWordsPrinter(io, process.stderr.isTTY === true);
  let onProbation = false;
  let rolledBack = false;
  const command = (requestId: string): Message => {
    if ('rollbackTo' in options) return { type: 'cmd.rollback', requestId, to: options.rollbackTo };
    // Beyond naught's fields, only what was asked for: the trace shows a plain deploy as ever.
    const { probationMs, batchSize, ...asNaught } = options;
    return { type: 'cmd.deploy', requestId, ...asNaught, ...(probationMs ? { probationMs } : {}), ...(batchSize ? { batchSize } : {}) };
  };
  const result = talk(io, ipcFile, 1, command, (msg) => {
    if (msg.type === 'pool.event') progress.saw(msg);
    if (msg.type === 'rollback.refused') {
      io.err(`naught rollback: ${msg.reason}\n`);
      return 1;
    }
    if (msg.type === 'worker.last-words') return lastWords.heard(msg);
    if (isEvent(msg, 'ErrorDeployInProgress')) {
      io.err('Deploy already in progress. Press Ctrl+C to abort.\n');
      return undefined;
    }
    if (isEvent(msg, 'Shutdown')) {
      io.err("Bootup never succeeded. Check stderr.log and usage of 'online' and 'shutdown' events.\n");
      return { whenClosed: 1 };
    }
    if (isEvent(msg, 'DeployFailed')) {
      io.out("Deploy failed. Check stderr.log and usage of 'online' and 'shutdown' events.\n");
      lastWords.failed();
      return 1;
    }
    if (isEvent(msg, 'Ready')) {
      io.err('done\n');
      if (rolledBack) return 1;
      if (!('rollbackTo' in options) && options.probationMs) {
        onProbation = true;
        return undefined;
      }
      return 0;
    }
    if (msg.type === 'probation.ended') {
      onProbation = false;
      if (msg.outcome === 'passed') io.err('probation passed\n');
      else if (msg.outcome === 'ended') io.err(`probation ended: ${msg.reason}\n`);
      else io.err(`Deploy rolled back: ${msg.reason}.\n`);
      rolledBack = msg.outcome === 'failed';
      return rolledBack ? undefined : 0;
    }
    // Ctrl+C during the probation ends it; there is no deploy left to abort.
    if (onProbation && isEvent(msg, 'ErrorNoDeployInProgress')) return undefined;
    if (msg.type === 'notice' && msg.code === 'DEPLOY_LOST') {
      io.err(msg.message + '\n');
      return 1;
    }
    return printOther(io, msg);
  }, (send) => {
    onSigint = () => {
      io.err('aborting deploy\n');
      send({ type: 'cmd.deploy-abort', requestId: newRequestId() });
    };
    process.once('SIGINT', onSigint);
  });
  return result.finally(() => {
    progress.finish();
    if (onSigint) process.off('SIGINT', onSigint);
  });
}
