// Boots real Xen 4.17 under QEMU (TCG: no KVM needed) with the oracle's kernel as dom0 and a
// program as its initrd, and returns the kernel's "@@" lines. QEMU's multiboot loader takes the
// modules as `-initrd "FILE ARGS,FILE2"`: Xen makes the first dom0's kernel and the second its
// initrd (start_info.mod_start). The watcher ends QEMU once Xen says "Hardware Dom0 halted" (Xen
// then halts without resetting, as `noreboot` asks), or at the kernel's "@@ fatal", or on a panic.
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export interface XenSetup {
  xen: string;
  kernel: string;
  qemu: string;
}

/** The checkout's oracle/ folder: from src/oracle/ (tsx) or dist/ (the bundle). */
export function oracleDir(): string {
  const here = dirname(fileURLToPath(import.meta.url));
  for (const up of ['../../oracle', '../oracle']) {
    const d = resolve(here, up);
    if (existsSync(join(d, 'Makefile'))) return d;
  }
  return resolve(here, '../../oracle');
}

/** What is missing to run on real Xen, in words, or the paths. */
export function findXen(xenPath?: string): XenSetup | string {
  const dir = oracleDir();
  const xen = xenPath ?? process.env.XENSIM_XEN ?? join(dir, '.xen/xen-4.17-amd64');
  if (!existsSync(xen)) return `no Xen image at ${xen}: run scripts/get-xen (Debian's xen-hypervisor-4.17-amd64), or give --xen PATH`;
  const qemu = spawnSync('sh', ['-c', 'command -v qemu-system-x86_64'], { encoding: 'utf8' }).stdout.trim();
  if (qemu === '') return 'qemu-system-x86_64 not found: run scripts/get-xen (apt-get install qemu-system-x86)';
  const kernel = join(dir, 'build/xensim-oracle');
  if (!existsSync(kernel)) {
    try {
      execFileSync('make', ['-s', '-C', dir], { stdio: 'pipe' });
    } catch (e) {
      return `the oracle kernel is not built and \`make -C ${dir}\` failed (gcc needed): ${(e as Error).message.split('\n')[0]}`;
    }
  }
  if (/[, ]/.test(kernel)) return `the oracle kernel's path ${kernel} holds a comma or space, which QEMU's -initrd cannot take`;
  return { xen, kernel, qemu };
}

export interface BootResult {
  /** The "@@" lines, without the "@@ ". */
  lines: string[];
  /** Xen's whole serial output (for an error message). */
  serial: string;
  ended: 'halted' | 'crashed' | 'fatal' | 'panic' | 'timeout' | 'exited';
}

/** Boots Xen with `program` as dom0's initrd; resolves when the watcher ends QEMU. */
export async function boot(setup: XenSetup, program: Buffer, timeoutMs: number): Promise<BootResult> {
  const dir = mkdtempSync(join(tmpdir(), 'xensim-oracle-'));
  const prog = join(dir, 'program.bin');
  writeFileSync(prog, program);
  const args = [
    '-kernel', setup.xen,
    '-initrd', `${setup.kernel} ,${prog}`,
    // serial_tx_buffer: Xen drops console output when its 16 KiB transmit buffer is full.
    '-append', 'console=com1 noreboot dom0=verbose loglvl=all guest_loglvl=all serial_tx_buffer=16M',
    '-serial', 'stdio', '-nographic', '-monitor', 'none', '-no-reboot',
    '-cpu', 'max', '-m', '1024', '-smp', '2',
  ];
  const child = spawn(setup.qemu, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let serial = '';
  let ended: BootResult['ended'] = 'exited';
  const lines: string[] = [];
  let pending = '';
  const stop = (why: BootResult['ended']): void => {
    if (ended === 'exited') ended = why;
    child.kill('SIGKILL');
  };
  const timer = setTimeout(() => stop('timeout'), timeoutMs);
  child.stdout.setEncoding('latin1');
  child.stdout.on('data', (chunk: string) => {
    serial += chunk;
    pending += chunk;
    let nl: number;
    while ((nl = pending.indexOf('\n')) >= 0) {
      const l = pending.slice(0, nl).replace(/\r/g, '');
      pending = pending.slice(nl + 1);
      const at = l.indexOf('@@ ');
      if (at >= 0) {
        lines.push(l.slice(at + 3));
        if (l.startsWith('fatal', at + 3)) stop('fatal');
      } else if (l.includes('Hardware Dom0 halted')) stop('halted');
      else if (l.includes('Hardware Dom0 crashed')) stop('crashed');
      else if (l.includes('Panic on CPU')) setTimeout(() => stop('panic'), 200);
    }
    if (pending.includes('Hardware Dom0 halted')) stop('halted');
  });
  child.stderr.resume();
  await new Promise<void>((res) => child.on('close', () => res()));
  if (process.env.XENSIM_ORACLE_SERIAL) writeFileSync(process.env.XENSIM_ORACLE_SERIAL, serial);
  clearTimeout(timer);
  rmSync(dir, { recursive: true, force: true });
  return { lines, serial, ended };
}
