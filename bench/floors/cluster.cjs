// The floor naught's deploy, start and stop are measured against: plain node:cluster doing
// the same work with nothing else. `node cluster.cjs SOCKET N SERVER` forks N workers,
// prints `ready` once each sent 'online', then serves one-line requests on a unix
// socket: `deploy` (fork N new, wait for 'online', send the old 'shutdown', disconnect
// them, wait for their exit) and `stop` (the same without new ones, then exit).
const cluster = require('node:cluster');
const net = require('node:net');

const [socketPath, count, server] = process.argv.slice(2);
cluster.setupPrimary({ exec: server });
const online = (worker) => new Promise((resolve) => worker.on('message', (m) => { if (m === 'online') resolve(); }));
const forkAll = () => Array.from({ length: Number(count) }, () => cluster.fork());
const retire = (workers) => Promise.all(workers.map((worker) => new Promise((resolve) => {
  worker.once('exit', resolve);
  // A worker may exit on 'shutdown' before the disconnect reaches it.
  worker.on('error', () => {});
  worker.send('shutdown');
  worker.disconnect();
})));

let workers = forkAll();
Promise.all(workers.map(online)).then(() => {
  net.createServer((client) => client.once('data', async (line) => {
    if (String(line).trim() === 'deploy') {
      const fresh = forkAll();
      await Promise.all(fresh.map(online));
      await retire(workers);
      workers = fresh;
      client.end('done\n');
    } else {
      await retire(workers);
      client.end('done\n', () => process.exit(0));
    }
  })).listen(socketPath, () => console.log('ready'));
});
