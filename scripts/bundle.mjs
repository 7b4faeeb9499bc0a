// After tsc: the three entry points people and naught start many times (the CLI, the
// daemon, the master) become bundles with shared chunks, in place, in dist/src/bin.
// Loading one file instead of forty is most of a command's start-up: `naught status`
// went from 1.7x to about 1.2x a bare `node -e 0` (BENCHMARKS.md, "Lean"). Every other
// module stays as tsc wrote it, for naught/worker, naught/plugin and the tests.
import { build } from 'esbuild';
import fs from 'node:fs';
import { fileURLToPath } from 'node:url';

const bin = fileURLToPath(new URL('../dist/src/bin/', import.meta.url));
for (const file of fs.readdirSync(bin)) if (file.startsWith('chunk-')) fs.rmSync(bin + file);
await build({
  entryPoints: ['naught.js', 'daemon.js', 'master.js'].map((entry) => bin + entry),
  outdir: bin,
  allowOverwrite: true,
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  minifyWhitespace: true,
  minifySyntax: true,
  sourcemap: 'linked',
  // A native addon (N-API) that picks its build for the platform at run time.
  external: ['node-unix-socket'],
  chunkNames: 'chunk-[hash]',
  // commander is CommonJS: its require() of Node's modules needs a require in each ES module.
  banner: { js: "import { createRequire as __naughtRequire } from 'node:module'; const require = __naughtRequire(import.meta.url);" },
  logLevel: 'warning',
});
