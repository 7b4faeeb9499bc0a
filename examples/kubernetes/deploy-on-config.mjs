// A plugin for config reloads without new pods: when the ConfigMap mounted at `dir`
// changes, it deploys, and the new workers read the new files. The kubelet updates a
// ConfigMap volume atomically by pointing its `..data` link at a new folder, so one
// readlink every `everyMs` (default 2000) tells a change. Run it with
//   naught start --plugin ./deploy-on-config.mjs='{"dir":"/etc/app"}' server.mjs
import fs from 'node:fs';
import path from 'node:path';
import { definePlugin, PluginConfigError } from 'naught/plugin';

const version = (dir) => {
  try {
    return fs.readlinkSync(path.join(dir, '..data'));
  } catch {
    return null;
  }
};

export default definePlugin({
  name: 'deploy-on-config',
  publishes: ['cmd.deploy'],
  create({ bus, options, log }) {
    if (typeof options?.dir !== 'string') throw new PluginConfigError('give the mounted ConfigMap folder: {"dir":"/etc/app"}');
    let seen = version(options.dir);
    const timer = setInterval(() => {
      const now = version(options.dir);
      if (now === seen) return;
      log(`${options.dir} changed (${seen} → ${now}): deploying`);
      seen = now;
      bus.publish({ type: 'cmd.deploy', workerCount: 0, env: null, cwd: null, timeoutMs: null });
    }, options.everyMs ?? 2_000);
    return { stop: () => clearInterval(timer) };
  },
});
