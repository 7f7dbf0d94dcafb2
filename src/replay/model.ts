// Which model replays a file: the flags, or what a hypercall log says wrote it (its end line's
// `xen` and `build`), so that a log written with `--xen-version master` or `--xen-build release`
// replays to what it recorded without the user repeating the flags. Shell only (no Xen function).
import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import { XEN_VERSIONS, type XenVersion } from '../../hypervisor/abi.ts';
import type { CheckFailure } from './check.ts';

export interface Model {
  version: XenVersion;
  build: 'debug' | 'release';
}

/** An end line is short: its last 4 KB hold it. */
const TAIL = 4096;

/** The model a log's end line names, if the file is a regular file ending with one. */
export function loggedModel(path: string): Partial<Model> | undefined {
  let fd: number | undefined;
  try {
    fd = openSync(path, 'r');
    const size = fstatSync(fd).isFile() ? fstatSync(fd).size : 0;
    if (size === 0) return undefined;
    const buf = Buffer.alloc(Math.min(TAIL, size));
    readSync(fd, buf, 0, buf.length, size - buf.length);
    const last = buf.toString('utf8').trimEnd().split('\n').pop() ?? '';
    const o = JSON.parse(last) as Record<string, unknown>;
    if (o === null || typeof o !== 'object' || o.event !== 'end') return undefined;
    const m: Partial<Model> = {};
    if ((XEN_VERSIONS as readonly unknown[]).includes(o.xen)) m.version = o.xen as XenVersion;
    if (o.build === 'debug' || o.build === 'release') m.build = o.build;
    return m;
  } catch {
    return undefined; // not readable or not a log: the reader says why, if it matters
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

/**
 * The model for a replay: each flag given wins; one not given is the log's, else 4.17 / debug. A
 * flag that contradicts the log, when the log is checked, is refused (exit 2): every record would
 * "diverge" for a reason that is not the log's.
 */
export function replayModel(path: string, given: Partial<Model>, check: boolean): { model: Model; refused?: CheckFailure } {
  const logged = loggedModel(path) ?? {};
  const model: Model = { version: given.version ?? logged.version ?? '4.17', build: given.build ?? logged.build ?? 'debug' };
  if (!check) return { model };
  const clash: string[] = [];
  if (given.version !== undefined && logged.version !== undefined && given.version !== logged.version) clash.push(`--xen-version ${given.version} (the log's: ${logged.version})`);
  if (given.build !== undefined && logged.build !== undefined && given.build !== logged.build) clash.push(`--xen-build ${given.build} (the log's: ${logged.build})`);
  if (clash.length === 0) return { model };
  return {
    model,
    refused: { exit: 2, message: `${path}: this log was written by another model than ${clash.join(' and ')}: checked against it, its records would diverge for that reason alone; leave the flag out to replay it as written, or add --no-check to re-run it under the other model` },
  };
}
