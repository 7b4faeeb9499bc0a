// Binds one listening socket for the daemon (`start --listen`) and sends it back over the
// IPC channel as a bare handle, then exits. The daemon keeps the descriptor without ever
// accepting on it (a socket its own event loop listened on, it would accept on too) and
// passes it to the workers, as systemd passes an activated socket.
// argv: host port | unix path. Answers {ok: true} with the handle, or {ok: false, error}.
import net from 'node:net';

const [kind, where, port] = process.argv.slice(2);
const server = net.createServer();
server.once('error', (error: NodeJS.ErrnoException) => {
  process.send?.({ ok: false, error: error.code === 'EADDRINUSE' ? 'the address is in use' : error.message }, undefined, {}, () => process.exit(1));
});
const sendHandle = () => {
  // The bare TCP or Pipe handle: the daemon gets its descriptor and nothing that listens.
  const handle = (server as unknown as { _handle: net.Socket })._handle;
  process.send?.({ ok: true }, handle, {}, () => process.exit(0));
};
if (kind === 'unix') server.listen({ path: where!, backlog: 4096 }, sendHandle);
else server.listen({ host: where!, port: Number(port), backlog: 4096 }, sendHandle);
