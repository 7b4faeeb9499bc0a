// A plugin to copy: appends every message that crosses naught's bus to a file, one JSON
// object per line. Run it with
//   naught start --plugin ./examples/plugins/events-to-file.mjs='{"file":"events.jsonl"}' server.js
import fs from 'node:fs';
import { definePlugin } from 'naught/plugin';

export default definePlugin({
  name: 'events-to-file',
  publishes: [],
  create({ bus, options }) {
    const out = fs.createWriteStream(options.file ?? 'events.jsonl', { flags: 'a', mode: 0o600 });
    bus.onAny(({ time, sender, msg }) => out.write(JSON.stringify({ time, sender, ...msg }) + '\n'));
    return { stop: () => new Promise((resolve) => out.end(resolve)) };
  },
});
