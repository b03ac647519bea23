/**
 * The machine a benchmark ran on, recorded beside every result: numbers from a 2-core box under load mean little
 * without the core count, CPU model, memory, software versions and the load average when the run started.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { availableParallelism, cpus, loadavg, totalmem } from 'node:os';

export interface MachineInfo {
  date: string;
  /** Logical CPUs this process may use (what `nproc` prints). */
  nproc: number;
  cpuModel: string;
  ramGiB: number;
  node: string;
  versions: Record<string, string>;
  /** 1, 5 and 15 minute load averages when the run started (as `uptime` prints them). */
  loadAverage: [number, number, number];
}

const require = createRequire(import.meta.url);

/** Installed version of a package, read from its package.json (exports maps may hide that file). */
export function packageVersion(name: string): string {
  try {
    const main = require.resolve(name);
    const root = main.slice(0, main.lastIndexOf(`node_modules/${name}`) + `node_modules/${name}`.length);
    return (JSON.parse(readFileSync(`${root}/package.json`, 'utf8')) as { version: string }).version;
  } catch {
    return 'not installed';
  }
}

function cpuModel(): string {
  try {
    const line = readFileSync('/proc/cpuinfo', 'utf8')
      .split('\n')
      .find((l) => l.startsWith('model name'));
    if (line) return line.slice(line.indexOf(':') + 1).trim();
  } catch {
    // not Linux: fall through to what Node reports
  }
  return cpus()[0]?.model ?? 'unknown';
}

export function machineInfo(packages: readonly string[] = []): MachineInfo {
  const [one, five, fifteen] = loadavg();
  return {
    date: new Date().toISOString(),
    nproc: availableParallelism(),
    cpuModel: cpuModel(),
    ramGiB: Math.round((totalmem() / 2 ** 30) * 10) / 10,
    node: process.version,
    versions: Object.fromEntries(packages.map((p) => [p, packageVersion(p)])),
    loadAverage: [one, five, fifteen].map((x) => Math.round(x * 100) / 100) as [number, number, number],
  };
}

/** A Markdown paragraph describing the machine. */
export function machineMarkdown(info: MachineInfo): string {
  const versions = Object.entries(info.versions)
    .map(([name, version]) => `${name} ${version}`)
    .join(', ');
  return (
    `Machine: ${info.nproc} CPUs (${info.cpuModel}), ${info.ramGiB} GiB RAM, Node ${info.node}` +
    `${versions ? `, ${versions}` : ''}. Run ${info.date}; load average at start ` +
    `${info.loadAverage.join(', ')} (1/5/15 min).`
  );
}

/** The CPU flags that decide int8 and fp32 kernel speed (Linux /proc/cpuinfo), as one Markdown sentence. */
export function cpuFlagsMarkdown(): string {
  let flags: string[] = [];
  try {
    flags = (readFileSync('/proc/cpuinfo', 'utf8').match(/^flags\s*:(.*)$/m)?.[1] ?? '')
      .split(' ')
      .filter((f) => /^(avx2|avx512f|avx512_vnni|avx_vnni|amx_int8)$/.test(f));
  } catch {
    // not Linux
  }
  return `CPU flags: ${flags.join(', ') || 'none of avx2, avx512f, avx512_vnni, avx_vnni, amx_int8'}.`;
}
