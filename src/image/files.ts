/**
 * The image files behind the command line's arguments: files as given, folders searched
 * recursively for image files (by extension), in a stable order.
 */
import { readdir, stat } from 'node:fs/promises';
import { extname, join } from 'node:path';

/** What sharp (libvips) decodes; BMP is not among them, so a folder search leaves it out. */
export const IMAGE_EXTENSIONS = new Set(['.jpg', '.jpeg', '.png', '.webp', '.gif', '.tif', '.tiff', '.avif']);

async function walk(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { withFileTypes: true });
  entries.sort((a, b) => a.name.localeCompare(b.name));
  const files: string[] = [];
  for (const entry of entries) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) files.push(...(await walk(path)));
    else if (!IMAGE_EXTENSIONS.has(extname(entry.name).toLowerCase())) continue;
    // A link is followed to the file it names (links to folders are not, so no search loops).
    else if (entry.isFile() || (entry.isSymbolicLink() && (await stat(path).catch(() => undefined))?.isFile()))
      files.push(path);
  }
  return files;
}

/** Expands folders; files are kept as given (a bad one is reported when it is read). */
export async function listImages(args: string[]): Promise<string[]> {
  const files: string[] = [];
  for (const arg of args) {
    const info = await stat(arg).catch(() => undefined);
    if (info?.isDirectory()) files.push(...(await walk(arg)));
    else files.push(arg);
  }
  return files;
}
