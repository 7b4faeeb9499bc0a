import fs from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';

/** The archives of a log, oldest first, with their decompressed text. */
export function archives(dir: string, name: string, ext: string): { file: string; text: string }[] {
  const pattern = new RegExp(`^${name}-(\\d{13,})${ext.replace('.', '\\.')}\\.gz$`);
  return fs.readdirSync(dir)
    .filter((f) => pattern.test(f))
    .sort((a, b) => Number(pattern.exec(a)![1]) - Number(pattern.exec(b)![1]))
    .map((file) => ({ file, text: zlib.gunzipSync(fs.readFileSync(path.join(dir, file))).toString() }));
}

/**
 * Archives then the live file: everything the log ever received, in order. Throws while
 * a rotated file still waits for its compression, for callers that poll to retry.
 */
export function wholeLog(dir: string, file: string): { text: string; archiveCount: number } {
  const ext = path.extname(file);
  const pending = new RegExp(`^${path.basename(file, ext)}-\\d{13,}${ext.replace('.', '\\.')}$`);
  if (fs.readdirSync(dir).some((f) => pending.test(f))) throw new Error('an archive is still being compressed');
  const list = archives(dir, path.basename(file, ext), ext);
  const live = fs.existsSync(path.join(dir, file)) ? fs.readFileSync(path.join(dir, file), 'utf8') : '';
  return { text: list.map((a) => a.text).join('') + live, archiveCount: list.length };
}
