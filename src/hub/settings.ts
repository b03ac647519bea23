/**
 * Hub settings resolved the way Python's `huggingface_hub` resolves them: explicit options first, then the
 * environment variables it reads, then its defaults. Sharing the cache root and token with Python is what lets
 * a model downloaded by either side be reused by the other.
 */
import { readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';

export const DEFAULT_ENDPOINT = 'https://huggingface.co';

/** The environment as a plain map, so tests can pass their own instead of mutating `process.env`. */
export type HubEnv = Readonly<Record<string, string | undefined>>;

export interface HubSettingsOptions {
  /** Hub base URL; overrides `HF_ENDPOINT`. */
  endpoint?: string;
  /** Access token; overrides `HF_TOKEN` and the token file. `false` sends no token at all. */
  token?: string | false;
  /** Cache root (the folder holding `models--org--name`); overrides `HF_HUB_CACHE` and `HF_HOME`. */
  cacheDir?: string;
  /** Use only the cache, never the network; overrides `HF_HUB_OFFLINE`. */
  offline?: boolean;
  /** Environment to read instead of `process.env`. */
  env?: HubEnv;
}

export interface HubSettings {
  endpoint: string;
  token: string | undefined;
  cacheDir: string;
  offline: boolean;
}

/** `huggingface_hub` treats these spellings (any case) of a boolean variable as true. */
const TRUE_VALUES = new Set(['1', 'ON', 'YES', 'TRUE']);

export function isTrueEnvValue(value: string | undefined): boolean {
  return value !== undefined && TRUE_VALUES.has(value.trim().toUpperCase());
}

function expandHome(path: string): string {
  return path === '~' || path.startsWith('~/') ? join(homedir(), path.slice(1)) : path;
}

function nonEmpty(value: string | undefined): string | undefined {
  return value === undefined || value.trim() === '' ? undefined : value;
}

/** `HF_HOME`, else `$XDG_CACHE_HOME/huggingface`, else `~/.cache/huggingface` (Python's rule). */
export function hfHome(env: HubEnv): string {
  const explicit = nonEmpty(env.HF_HOME);
  if (explicit !== undefined) return expandHome(explicit);
  const xdg = nonEmpty(env.XDG_CACHE_HOME);
  return join(xdg !== undefined ? expandHome(xdg) : join(homedir(), '.cache'), 'huggingface');
}

/** `HF_HUB_CACHE`, else `$HF_HOME/hub`. */
export function hubCacheDir(env: HubEnv): string {
  const explicit = nonEmpty(env.HF_HUB_CACHE);
  return explicit !== undefined ? expandHome(explicit) : join(hfHome(env), 'hub');
}

/**
 * `HF_TOKEN`, else the token file `huggingface-cli login` writes (`HF_TOKEN_PATH`, default `$HF_HOME/token`),
 * the same order Python uses.
 */
export function hubToken(env: HubEnv): string | undefined {
  const fromEnv = nonEmpty(env.HF_TOKEN);
  if (fromEnv !== undefined) return fromEnv.trim();
  const tokenPath = expandHome(nonEmpty(env.HF_TOKEN_PATH) ?? join(hfHome(env), 'token'));
  try {
    return nonEmpty(readFileSync(tokenPath, 'utf8'))?.trim();
  } catch {
    return undefined;
  }
}

export function resolveHubSettings(options: HubSettingsOptions = {}): HubSettings {
  const env = options.env ?? process.env;
  const endpoint = (options.endpoint ?? nonEmpty(env.HF_ENDPOINT) ?? DEFAULT_ENDPOINT).replace(/\/+$/, '');
  const token = options.token === false ? undefined : (nonEmpty(options.token) ?? hubToken(env));
  return {
    endpoint,
    token,
    cacheDir: options.cacheDir ?? hubCacheDir(env),
    offline: options.offline ?? isTrueEnvValue(env.HF_HUB_OFFLINE),
  };
}
