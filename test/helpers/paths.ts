import { fileURLToPath } from 'node:url';
import path from 'node:path';

// Tests run from dist/test/…; the repository root is three levels up from here.
export const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
export const naughtBin = path.join(repoRoot, 'dist/src/bin/naught.js');
export const fixture = (name: string): string => path.join(repoRoot, 'test/fixtures', name);
export const compiledFixture = (name: string): string => path.join(repoRoot, 'dist/test/fixtures', name);
