// naught 1.6's help texts, word for word, so scripts that grep them keep working.
const CWD = process.cwd();

export const HELP = {
  start: "naught start [options] server.js [script-options]\n\n" +
    "    Starts server.js as a daemon passing script-options as command\n" +
    "    line arguments.\n\n" +
    "    Each worker's stdout and stderr are redirected to a log files\n" +
    "    specified by the `stdout` and `stderr` parameters. When a log file\n" +
    "    becomes larger than `max-log-size`, the log file is renamed using the\n" +
    "    current date and time, and a new log file is opened.\n\n" +
    "    With naught, you can use `console.log` and friends. Because naught\n" +
    "    pipes the output into a log file, node.js treats stdout and stderr\n" +
    "    as asynchronous streams.\n\n" +
    "    If you don't want a particular log, use `/dev/null` for the path. Naught\n" +
    "    special cases this filename and disables that log altogether.\n\n" +
    "    When running in `daemon-mode` `false`, naught will start the master\n" +
    "    process and then block. It listens to SIGHUP for restarting and SIGTERM\n" +
    "    for stopping. In this situation you may use `-` for `stderr` and/or\n" +
    "    `stdout` which will redirect the respective streams to naught's output\n" +
    "    streams instead of a log file.\n\n" +
    "    Creates an `ipc-file` which naught uses to communicate with your\n" +
    "    server once it has started.\n\n" +
    "    Available options and their defaults:\n\n" +
    "    --worker-count 1\n" +
    "    --ipc-file naught.ipc\n" +
    "    --pid-file naught.pid\n" +
    "    --log naught.log\n" +
    "    --stdout stdout.log\n" +
    "    --stderr stderr.log\n" +
    "    --max-log-size 10485760\n" +
    "    --max-log-files 0 (keep every archive)\n" +
    "    --trace (off; a file records every bus message)\n" +
    "    --timeout none (seconds to boot; then the start fails)\n" +
    "    --ready online (or listening: once a server listens; or 5s: after 5 seconds)\n" +
    "    --env-file (none; a dotenv file, read again at every deploy)\n" +
    "    --drain auto (keep-alive clients survive a worker's close; or off)\n" +
    "    --drain-recent-ms 1000\n" +
    "    --worker-timeout none (seconds; a naught/worker worker silent this long is replaced)\n" +
    "    --max-worker-memory none (e.g. 512M; a worker above it is replaced, no downtime)\n" +
    "    --worker-count-limit (8 per CPU; --worker-count may not go past it without this)\n" +
    "    --worker-count auto (also accepted: one worker per CPU this process may use)\n" +
    "    --health none (127.0.0.1:PORT or unix:/path: serves /livez, /readyz, /status)\n" +
    "    --listen (none; repeatable: [name=]HOST:PORT or unix:/path, for naught/worker's listen())\n" +
    "    --plugin (none; repeatable: MODULE or MODULE='{json options}')\n" +
    "    --cwd " + CWD + "\n" +
    "    --daemon-mode true\n" +
    "    --remove-old-ipc false\n" +
    "    --node-args ''",
  stop: "naught stop [options] [ipc-file]\n\n" +
    "    Stops the running server which created `ipc-file`.\n" +
    "    Uses `naught.ipc` by default.\n\n" +
    "    This sends the 'shutdown' message to all the workers and waits for\n" +
    "    them to exit gracefully.\n\n" +
    "    If you specify a timeout, naught will forcefully kill your workers\n" +
    "    if they do not shut down gracefully within the timeout.\n\n" +
    "    Available options and their defaults:\n\n" +
    "        --timeout none\n" +
    "        --pid-file naught.pid",
  status: "naught status [ipc-file]\n\n" +
    "    Displays whether a server is running or not.\n" +
    "    --json (the whole state as one JSON document)\n" +
    "    --workers (a table, one row per worker; also `naught ps`)\n" +
    "    Uses `naught.ipc` by default.",
  deploy: "naught deploy [options] [ipc-file]\n\n" +
    "    Replaces workers with new workers using new code and optionally\n" +
    "    the environment variables from this command.\n\n" +
    "    Naught spawns all the new workers and waits for them to all become\n" +
    "    online before killing a single old worker. This guarantees zero\n" +
    "    downtime if any of the new workers fail and provides the ability to\n" +
    "    cleanly abort the deployment if it hangs.\n\n" +
    "    A hanging deploy happens when a new worker fails to emit the 'online'\n" +
    "    message, or when an old worker fails to shutdown upon receiving the\n" +
    "    'shutdown' message. A keyboard interrupt will cause a deploy-abort,\n" +
    "    cleanly and with zero downtime.\n\n" +
    "    If `timeout` is specified, naught will automatically abort the deploy\n" +
    "    if it does not finish within those seconds.\n\n" +
    "    If `override-env` is true, the environment varibables that are set with\n" +
    "    this command are used to override the original environment variables\n" +
    "    used with the `start` command. If any variables are missing, the\n" +
    "    original values are left intact.\n\n" +
    "    `worker-count` can be used to change the number of workers running. A\n" +
    "    value of `0` means to keep the same number of workers.\n" +
    "    A value of 'auto', will set value as per the number of available CPUs.\n\n" +
    "    `cwd` can be used to change the cwd directory of the master process.\n" +
    "    This allows you to release in different directories. Unfortunately,\n" +
    "    this option doesn't update the script location. For example, if you\n" +
    "    start naught `naught start --cwd /release/1 server.js` and deploy\n" +
    "    `naught deploy --cwd /release/2` the script file will not change from\n" +
    "    '/release/1/server.js' to '/release/2/server.js'. You have to create\n" +
    "    a symlink and pass the full symlink path to naught start\n" +
    "    '/current/server.js'. After creating the symlink naught starts the\n" +
    "    correct script, but the cwd is still old and require loads files from\n" +
    "    from the old directory. The cwd option allows you to update the cwd\n" +
    "    to the new directory. It defaults to naught's cwd.\n\n" +
    "    Uses `naught.ipc` by default.\n\n" +
    "    Available options and their defaults:\n\n" +
    "        --worker-count 0\n" +
    "        --override-env true\n" +
    "        --timeout none\n" +
    "        --probation none (seconds to watch the new workers after done; a failure rolls back)\n" +
    "        --batch-size none (replace this many workers at a time; count + N run at most)\n" +
    "        --worker-count-limit (8 per CPU; --worker-count may not go past it without this)\n" +
    "        --worker-count auto (also accepted: one worker per CPU this process may use)\n" +
    "        --cwd " + CWD,
  'deploy-abort': "naught deploy-abort [ipc-file]\n\n" +
    "    Aborts a hanging deploy. A hanging deploy happens when a new worker\n" +
    "    fails to emit the 'online' message, or when an old worker fails\n" +
    "    to shutdown upon receiving the 'shutdown' message.\n\n" +
    "    When deploying, a keyboard interrupt will cause a deploy-abort,\n" +
    "    so the times you actually have to run this command will be few and\n" +
    "    far between.\n\n" +
    "    Uses `naught.ipc` by default.",
  'reopen-logs': "naught reopen-logs [ipc-file]\n\n" +
    "    Reopens the log files, for logrotate's `postrotate` step. Sending\n" +
    "    SIGUSR2 to the daemon does the same.\n" +
    "    Uses `naught.ipc` by default.",
  trace: "naught trace [options] file\nnaught trace --follow [ipc-file]\n\n" +
    "    Prints the messages a trace file (from `start --trace`) recorded, one\n" +
    "    line each: time, sender, type and payload. A file that is cut short\n" +
    "    or damaged prints up to the damage, then the error, and exits 1.\n" +
    "    Gzipped archives of a rotated trace read the same. Environment\n" +
    "    values (of deploy, start) are recorded masked, as ‹set:hash›.\n\n" +
    "    With --follow, attaches to the running daemon and prints its\n" +
    "    messages as they happen, until the daemon stops.\n\n" +
    "    Available options and their defaults:\n\n" +
    "        --json false (one JSON object per line instead)\n" +
    "        --type * (a glob on the type, e.g. 'pool.*'; commas for several)\n" +
    "        --since none\n" +
    "        --until none (ISO dates, epoch ms, or HH:MM[:SS[.mmm]] that day)\n" +
    "        --follow false",
  history: "naught history [--json] [ipc-file]\n\n" +
    "    Lists the last 20 generations: each release that reached Ready (the\n" +
    "    boot, every deploy and rollback), with the real paths of its script\n" +
    "    and cwd, its worker count and the environment names it changed. The\n" +
    "    running one is marked `*`. --json prints them as JSON, environment\n" +
    "    values masked.\n" +
    "    Uses `naught.ipc` by default.",
  rollback: "naught rollback [--to N] [ipc-file]\n\n" +
    "    Deploys a generation again: its script and cwd (real paths, so a\n" +
    "    moved `current` symlink does not matter), environment and worker\n" +
    "    count. Defaults to the generation before the running one. Prints the\n" +
    "    deploy's events and `done`, like deploy; a generation whose release\n" +
    "    is gone is refused, and rollback exits 1.\n" +
    "    Uses `naught.ipc` by default.",
  upgrade: "naught upgrade [ipc-file]\n\n" +
    "    Replaces the running daemon and master with the naught this command\n" +
    "    belongs to, with no request lost: the new daemon takes over the\n" +
    "    control socket, the listening sockets and the state, boots a full set\n" +
    "    of workers, and then the old workers drain and the old daemon exits.\n" +
    "    Needs sockets naught holds (start --listen, or systemd socket\n" +
    "    activation). If the new daemon fails to boot, the old one runs on\n" +
    "    and upgrade exits 1.\n" +
    "    Uses `naught.ipc` by default.",
  ps: "naught ps [ipc-file]\n\n" +
    "    One row per worker: slot, pid, state, uptime, restarts, memory,\n" +
    "    CPU and event-loop lag. The same as `naught status --workers`.\n" +
    "    Uses `naught.ipc` by default.",
  logs: "naught logs [options] [ipc-file]\n\n" +
    "    Prints the last lines the workers wrote, stdout and stderr in the\n" +
    "    order naught wrote them, each tagged with its stream. With --follow,\n" +
    "    keeps printing new lines, across rotations and reopen-logs, until\n" +
    "    the daemon stops. A reader that falls behind is told how many lines\n" +
    "    it missed; the workers never wait for it, and the files have them.\n\n" +
    "    When no daemon answers, prints the last lines of the log files.\n\n" +
    "    Available options and their defaults:\n\n" +
    "        --lines 50 (or -n)\n" +
    "        --follow false (or -f)\n" +
    "        --stdout false (only stdout, untagged)\n" +
    "        --stderr false (only stderr, untagged)\n" +
    "        --stdout-file stdout.log (read when no daemon answers)\n" +
    "        --stderr-file stderr.log\n\n" +
    "    Uses `naught.ipc` by default.",
  version: "naught version\n\n" +
    "    Prints the version of naught and exits.",
  help: "naught help [cmd]\n\n" +
    "    Displays help for cmd.",
} as const;

export type CommandName = keyof typeof HELP;

export const isCommandName = (name: string): name is CommandName => Object.hasOwn(HELP, name);

/** Every command's help, as naught printed it for an unknown command. */
export const usage = (): string => Object.values(HELP).map((text) => `\n${text}\n\n`).join('');
