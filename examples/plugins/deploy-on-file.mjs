// A plugin that may deploy: when the file named in its options appears, it removes it
// and deploys. Run it with
//   naught start --plugin ./examples/plugins/deploy-on-file.mjs='{"file":"/tmp/deploy-now"}' server.js
import fs from 'node:fs';
import { definePlugin } from 'naught/plugin';

export default definePlugin({
  name: 'deploy-on-file',
  publishes: ['cmd.deploy'],                          // the commands it may publish
  create({ bus, options, log }) {
    bus.on('pool.event', ({ event, count }) => {      // any type in the catalogue
      if (event === 'Ready') log(`ready with ${count.online} workers`);
    });
    const timer = setInterval(() => {
      if (!fs.existsSync(options.file)) return;
      fs.rmSync(options.file);
      bus.publish({ type: 'cmd.deploy', workerCount: 0, env: null, cwd: null, timeoutMs: null });
    }, 200);
    return { stop: () => clearInterval(timer) };      // called when naught stops
  },
});
