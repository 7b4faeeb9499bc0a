// The naught command line: parse with commander, dispatch, map the outcome to an exit code.
// Options come before the script or ipc-file; everything after the script is the server's.
// The entry point (bin/naught.ts) loads this for every command but its fast paths.
import path from 'node:path';
import { Command, CommanderError } from 'commander';
import { packageVersion } from '../version.js';
import { deploy, definedEnv } from './deploy.js';
import { deployAbort } from './deploy-abort.js';
import { history } from './history.js';
import { logs } from './logs.js';
import { reopenLogs } from './reopen-logs.js';
import { start } from './start.js';
import { inspect, status } from './status.js';
import { stop } from './stop.js';
import { followTrace, printTraceFile, TraceUsageError, timeBound, typeGlob } from './trace.js';
import { upgrade } from './upgrade.js';
import { HELP, isCommandName, usage, type CommandName } from './help.js';
import { pluginSpec, PluginSpecError } from './plugin-spec.js';
import * as values from './values.js';
import { BadValue } from './values.js';
import { healthAddress, listenSpec } from '../cluster/addresses.js';
import { stdio } from './stdio.js';

const io = stdio;
const cwd = process.cwd();
const resolve = (p: string) => path.resolve(cwd, p);

/** An option value naught would not accept: the command's help on stderr, exit 1. */
class BadUsage extends Error {}

/** --worker-count within --worker-count-limit (by default 8 per CPU). */
function workerCount(o: Record<string, string | undefined>, min: 0 | 1): number {
  const limit = o.workerCountLimit === undefined ? values.workerCountLimit() : values.wholeNumber('--worker-count-limit', o.workerCountLimit, 1);
  return values.workerCount('--worker-count', o.workerCount!, min, limit);
}

let outcome: Promise<number> | number = 0;

const program = new Command('naught')
  .enablePositionalOptions()
  .helpCommand(false)
  .helpOption(false)
  .exitOverride()
  .configureOutput({ writeOut: io.out, writeErr: () => {}, outputError: () => {} });

function naughtCommand(name: CommandName): Command {
  return program.command(name).helpOption(false).exitOverride().allowExcessArguments(false)
    .configureOutput({ writeOut: io.out, writeErr: () => {}, outputError: () => {} });
}

naughtCommand('start')
  .option('--worker-count <n>', '', '1')
  .option('--worker-count-limit <n>')
  .option('--ipc-file <path>', '', 'naught.ipc')
  .option('--pid-file <path>', '', 'naught.pid')
  .option('--log <path>', '', 'naught.log')
  .option('--stdout <path>', '', 'stdout.log')
  .option('--stderr <path>', '', 'stderr.log')
  .option('--max-log-size <bytes>', '', '10485760')
  .option('--max-log-files <n>', '', '0')
  .option('--cwd <dir>', '', cwd)
  .option('--daemon-mode <bool>', '', 'true')
  .option('--remove-old-ipc <bool>', '', 'false')
  .option('--node-args <args>', '', '')
  .option('--timeout <seconds>', '', 'none')
  .option('--ready <mode>', '', 'online')
  .option('--env-file <file>')
  .option('--drain <mode>', '', 'auto')
  .option('--drain-recent-ms <ms>', '', '1000')
  .option('--worker-timeout <seconds>', '', 'none')
  .option('--max-worker-memory <size>', '', 'none')
  .option('--health <address>', '', 'none')
  .option('--listen <address>', '', (value: string, all: string[]) => [...all, value], [] as string[])
  .option('--trace <file>')
  .option('--plugin <module>', '', (value: string, all: string[]) => [...all, value], [] as string[])
  .argument('<script>')
  .argument('[script-options...]')
  .passThroughOptions()
  .action((script: string, args: string[], o: Record<string, string> & { plugin: string[]; listen: string[] }) => {
    let plugins;
    try {
      plugins = o.plugin.map((argument) => pluginSpec(argument, cwd));
    } catch (error) {
      if (!(error instanceof PluginSpecError)) throw error;
      io.err(`unable to start daemon: ${error.message}\n`);
      outcome = 1;
      return;
    }
    const maxLogSize = values.size('--max-log-size', o.maxLogSize!);
    const maxLogFiles = values.wholeNumber('--max-log-files', o.maxLogFiles!, 0);
    const drain = values.oneOf('--drain', o.drain!, ['auto', 'off'] as const);
    const ready = values.readyMode('--ready', o.ready!);
    // Node has checked the file already: it reads --env-file anywhere on its command line (docs/cli.md).
    const envFile = o.envFile === undefined ? null : resolve(o.envFile);
    const drainRecentMs = values.wholeNumber('--drain-recent-ms', o.drainRecentMs!, 0, values.MAX_TIMER_MS);
    const logPath = (p: string) => (p === '-' ? p : resolve(p));
    const workerTimeoutMs = values.seconds('--worker-timeout', o.workerTimeout!, 1);
    const maxWorkerMemoryBytes = o.maxWorkerMemory === 'none' ? null : values.size('--max-worker-memory', o.maxWorkerMemory!);
    if (o.health !== 'none' && healthAddress(o.health!) === null) throw new BadValue('--health', o.health!, 'HOST:PORT, :PORT, PORT or unix:PATH');
    for (const [i, value] of o.listen.entries()) {
      if (listenSpec(value, i) === null) throw new BadValue('--listen', value, '[NAME=]HOST:PORT, [NAME=]:PORT or [NAME=]unix:PATH');
    }
    const listen = o.listen.map((value) => value.replace(/(^|=)unix:(.*)$/, (_, head: string, where: string) => `${head}unix:${resolve(where)}`));
    const health = o.health === 'none' ? null : o.health!.startsWith('unix:') ? `unix:${resolve(o.health!.slice(5))}` : o.health!;
    outcome = start(io, {
      ipcFileAsGiven: o.ipcFile!,
      daemonMode: o.daemonMode === 'true',
      removeOldIpc: o.removeOldIpc === 'true',
      config: {
        script: resolve(script), args, workerCount: workerCount(o, 1),
        cwd: resolve(o.cwd!), nodeArgs: o.nodeArgs!.trim() === '' ? [] : o.nodeArgs!.trim().split(/\s+/), env: {},
        drain, drainRecentMs, bootTimeoutMs: values.seconds('--timeout', o.timeout!), workerTimeoutMs, maxWorkerMemoryBytes, ready, envFile,
        ipcFile: resolve(o.ipcFile!), pidFile: resolve(o.pidFile!),
        log: logPath(o.log!), stdout: logPath(o.stdout!), stderr: logPath(o.stderr!), maxLogSize, maxLogFiles,
        trace: o.trace === undefined ? null : resolve(o.trace), plugins, health, listen,
      },
    });
  });

naughtCommand('stop')
  .option('--timeout <seconds>', '', 'none')
  .option('--pid-file <path>', '', 'naught.pid')
  .argument('[ipc-file]', '', 'naught.ipc')
  .action((ipcFile: string, o: Record<string, string>) => {
    // --pid-file: accepted and unused, as naught 1.6's stop did (it finds the daemon by its ipc-file).
    outcome = stop(io, ipcFile, values.seconds('--timeout', o.timeout!));
  });

/** Colour on a terminal only, and never with NO_COLOR set (no-color.org). */
const colour = () => process.stdout.isTTY === true && !process.env.NO_COLOR;

naughtCommand('status')
  .option('--json')
  .option('--workers')
  .argument('[ipc-file]', '', 'naught.ipc')
  .action((ipcFile: string, o: { json?: true; workers?: true }) => {
    if (o.json) outcome = inspect(io, ipcFile, 'json', false);
    else if (o.workers) outcome = inspect(io, ipcFile, 'table', colour());
    else outcome = status(io, ipcFile);
  });

naughtCommand('ps')
  .argument('[ipc-file]', '', 'naught.ipc')
  .action((ipcFile: string) => { outcome = inspect(io, ipcFile, 'table', colour()); });

naughtCommand('deploy')
  .option('--worker-count <n>', '', '0')
  .option('--worker-count-limit <n>')
  .option('--override-env <bool>', '', 'true')
  .option('--timeout <seconds>', '', 'none')
  .option('--probation <seconds>', '', 'none')
  .option('--batch-size <n>', '', 'none')
  .option('--cwd <dir>', '', cwd)
  .argument('[ipc-file]', '', 'naught.ipc')
  .action((ipcFile: string, o: Record<string, string>) => {
    outcome = deploy(io, ipcFile, {
      workerCount: workerCount(o, 0),
      env: o.overrideEnv === 'true' ? definedEnv() : null,
      cwd: resolve(o.cwd!),
      timeoutMs: values.seconds('--timeout', o.timeout!),
      probationMs: values.seconds('--probation', o.probation!),
      batchSize: values.wholeOrNone('--batch-size', o.batchSize!, 1),
    });
  });

naughtCommand('history')
  .option('--json')
  .argument('[ipc-file]', '', 'naught.ipc')
  .action((ipcFile: string, o: { json?: true }) => { outcome = history(io, ipcFile, o.json === true); });

naughtCommand('rollback')
  .option('--to <generation>')
  .argument('[ipc-file]', '', 'naught.ipc')
  .action((ipcFile: string, o: { to?: string }) => {
    outcome = deploy(io, ipcFile, { rollbackTo: o.to === undefined ? null : values.wholeNumber('--to', o.to, 1) });
  });

naughtCommand('upgrade')
  .argument('[ipc-file]', '', 'naught.ipc')
  .action((ipcFile: string) => { outcome = upgrade(io, ipcFile); });

naughtCommand('deploy-abort')
  .argument('[ipc-file]', '', 'naught.ipc')
  .action((ipcFile: string) => { outcome = deployAbort(io, ipcFile); });

naughtCommand('reopen-logs')
  .argument('[ipc-file]', '', 'naught.ipc')
  .action((ipcFile: string) => { outcome = reopenLogs(io, ipcFile); });

naughtCommand('trace')
  .option('--json')
  .option('--type <glob>')
  .option('--since <time>')
  .option('--until <time>')
  .option('--follow')
  .argument('[file]')
  .action((file: string | undefined, o: { json?: true; type?: string; since?: string; until?: string; follow?: true }) => {
    let filter;
    try {
      filter = {
        types: o.type === undefined ? null : typeGlob(o.type),
        since: o.since === undefined ? null : timeBound('--since', o.since),
        until: o.until === undefined ? null : timeBound('--until', o.until),
      };
    } catch (error) {
      if (!(error instanceof TraceUsageError)) throw error;
      io.err(`naught trace: ${error.message}\n`);
      outcome = 1;
      return;
    }
    const out = { json: o.json === true, write: io.out };
    if (o.follow) outcome = followTrace(io, out, file ?? 'naught.ipc', filter);
    else if (file === undefined) throw new BadUsage('a trace file');
    else outcome = printTraceFile(out, io.err, resolve(file), filter);
  });

naughtCommand('logs')
  .option('-n, --lines <n>', '', '50')
  .option('-f, --follow')
  .option('--stdout')
  .option('--stderr')
  .option('--stdout-file <path>', '', 'stdout.log')
  .option('--stderr-file <path>', '', 'stderr.log')
  .argument('[ipc-file]', '', 'naught.ipc')
  .action((ipcFile: string, o: { lines: string; follow?: true; stdout?: true; stderr?: true; stdoutFile: string; stderrFile: string }) => {
    const lines = values.wholeNumber('--lines', o.lines, 0, 1_000_000);
    const only = (['stdout', 'stderr'] as const).filter((stream) => o[stream]);
    outcome = logs(io, ipcFile, {
      lines,
      streams: only.length === 1 ? only : ['stdout', 'stderr'],
      follow: o.follow === true,
      files: { stdout: resolve(o.stdoutFile), stderr: resolve(o.stderrFile) },
    });
  });

naughtCommand('version').action(() => { io.out(packageVersion() + '\n'); });

naughtCommand('help')
  .argument('[cmd]')
  .action((cmd?: string) => {
    if (cmd !== undefined && isCommandName(cmd)) return void io.out(HELP[cmd] + '\n');
    io.err(usage());
    outcome = cmd === undefined ? 0 : 1;
  });


export async function main(argv: string[]): Promise<number> {
  const name = argv[0];
  if (name === undefined || !isCommandName(name)) {
    io.err(usage());
    return 1;
  }
  try {
    await program.parseAsync(argv, { from: 'user' });
    return await outcome;
  } catch (error) {
    if (!(error instanceof CommanderError) && !(error instanceof BadUsage) && !(error instanceof BadValue)) throw error;
    io.err(HELP[name] + '\n');
    if (error instanceof BadValue) io.err(`naught ${name}: ${error.message}\n`);
    return 1;
  }
}
