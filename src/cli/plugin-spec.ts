// `--plugin MODULE[={json}]`: resolved here, in the CLI, so that a typo fails `start` at
// once rather than a plugin host in a restart loop.
import fs from 'node:fs';
import path from 'node:path';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import type { PluginSpec } from '../bus/messages.js';

export class PluginSpecError extends Error {}

export function pluginSpec(argument: string, cwd: string): PluginSpec {
  const split = argument.indexOf('={');
  const module = split === -1 ? argument : argument.slice(0, split);
  let options: Record<string, unknown> = {};
  if (split !== -1) {
    try {
      options = JSON.parse(argument.slice(split + 1)) as Record<string, unknown>;
    } catch (error) {
      throw new PluginSpecError(`the options of --plugin ${module} are not JSON: ${(error as Error).message}`);
    }
  }
  return { module, file: resolvePlugin(module, cwd), options };
}

function resolvePlugin(module: string, cwd: string): string {
  if (module.startsWith('.') || path.isAbsolute(module)) {
    const file = path.resolve(cwd, module);
    if (!fs.existsSync(file)) throw new PluginSpecError(`the plugin ${module} was not found: no file ${file}`);
    return file;
  }
  // naught's own plugins come from this installation, whatever the user's folder holds.
  const fromHere = () => fileURLToPath(import.meta.resolve(module));
  const fromCwd = () => createRequire(path.join(cwd, 'package.json')).resolve(module);
  const tries = module === 'naught' || module.startsWith('naught/') ? [fromHere, fromCwd] : [fromCwd, fromHere];
  for (const attempt of tries) {
    try {
      return attempt();
    } catch {
      // The next place, if any.
    }
  }
  throw new PluginSpecError(`the plugin ${module} was not found from ${cwd}`);
}
