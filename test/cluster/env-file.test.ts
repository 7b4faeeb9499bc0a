// The env file's layer over an environment, without processes: laid, lifted, laid again as
// the file is now, and put back after a failed deploy.
import t from 'tap';
import { EnvFileLayer } from '../../src/cluster/env-file.js';

t.test('a name the file sets shadows the value before it; lifting brings that back, or removes the name', async (t) => {
  const env: NodeJS.ProcessEnv = { BASE: 'shell', KEEP: 'shell' };
  const layer = new EnvFileLayer(env);
  layer.lay({ BASE: 'file', ONLY: 'file' });
  t.same(env, { BASE: 'file', KEEP: 'shell', ONLY: 'file' });
  const saved = layer.save();
  layer.lift();
  t.same(env, { BASE: 'shell', KEEP: 'shell' });
  layer.lay({ ONLY: 'again' });
  t.same(env, { BASE: 'shell', KEEP: 'shell', ONLY: 'again' });
  // A failed deploy puts the environment back as it was, and the layer with it.
  Object.assign(env, { BASE: 'file', ONLY: 'file' });
  layer.restore(saved);
  layer.lift();
  t.same(env, { BASE: 'shell', KEEP: 'shell' });
});
