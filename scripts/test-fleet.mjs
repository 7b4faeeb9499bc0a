// `npm run test:fleet`: the fleet test (test/fleet) needs haproxy and ansible-playbook.
// As root it installs what is missing with apt-get; otherwise it says what to install.
import { spawnSync } from 'node:child_process';

const has = (command) => spawnSync('sh', ['-c', `command -v ${command}`], { stdio: 'ignore' }).status === 0;
const missing = ['haproxy', 'ansible-playbook'].filter((command) => !has(command));
if (missing.length > 0) {
  if (process.getuid?.() !== 0) {
    console.error(`npm run test:fleet needs ${missing.join(' and ')}: install them with \`apt-get install haproxy ansible\` (as root), then run it again.`);
    process.exit(1);
  }
  console.error(`installing ${missing.join(' and ')} with apt-get`);
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  const install = () => spawnSync('apt-get', ['install', '-y', '--no-install-recommends', 'haproxy', 'ansible'], { stdio: 'inherit', env }).status;
  if (install() !== 0 && (spawnSync('apt-get', ['update'], { stdio: 'inherit', env }).status !== 0 || install() !== 0)) process.exit(1);
}
const run = spawnSync(process.execPath, ['scripts/run-tests.mjs', 'dist/test/fleet/fleet.fleet.js'], { stdio: 'inherit' });
process.exit(run.status ?? 1);
