// Where things live and which ports they use: every default in one place, each overridable by an environment
// variable. The README's table of these variables is kept by hand: change it with this file.
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

import { LaunchError } from './log.mjs';

export const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

/** Local-only credentials; MinIO needs a user of at least 3 and a password of at least 8 characters. */
export const DEFAULT_S3_ACCESS_KEY = 'mlcycle';
export const DEFAULT_S3_SECRET_KEY = 'mlcycle-local-secret';

/** The custom search attributes the workflows set (libs/contracts SEARCH_ATTRIBUTES), all Keyword. */
export const SEARCH_ATTRIBUTES = ['MlcycleModel', 'MlcycleStatus', 'MlcycleStep'];

function portFrom(env, name, fallback) {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 1 || n > 65535) throw new LaunchError(`${name}=${JSON.stringify(raw)} is not a port number (1-65535)`);
  return n;
}

export function cacheDir(env = process.env) {
  return env.MLCYCLE_CACHE_DIR ? path.resolve(env.MLCYCLE_CACHE_DIR) : path.join(os.homedir(), '.cache', 'mlcycle');
}

export function binDir(env = process.env) {
  return env.MLCYCLE_BIN_DIR ? path.resolve(env.MLCYCLE_BIN_DIR) : path.join(cacheDir(env), 'bin');
}

export function logDir(env = process.env) {
  return path.join(cacheDir(env), 'logs');
}

/** Settings of the local stack (`start`, `stack`, `infra`). */
export function stackSettings(env = process.env) {
  const dataDir = env.MLCYCLE_DATA_DIR ? path.resolve(env.MLCYCLE_DATA_DIR) : path.join(REPO_ROOT, '.mlcycle');
  const ports = {
    api: portFrom(env, 'MLCYCLE_API_PORT', 3000),
    temporal: portFrom(env, 'MLCYCLE_TEMPORAL_PORT', 7233),
    temporalUi: portFrom(env, 'MLCYCLE_TEMPORAL_UI_PORT', 8233),
    s3: portFrom(env, 'MLCYCLE_S3_PORT', 9000),
    s3Console: portFrom(env, 'MLCYCLE_S3_CONSOLE_PORT', 9001),
  };
  const seen = new Map();
  for (const [name, port] of Object.entries(ports)) {
    if (seen.has(port)) throw new LaunchError(`port ${port} is configured twice (${seen.get(port)} and ${name})`);
    seen.set(port, name);
  }
  return {
    dataDir,
    ports,
    s3AccessKey: env.MLCYCLE_S3_ACCESS_KEY || DEFAULT_S3_ACCESS_KEY,
    s3SecretKey: env.MLCYCLE_S3_SECRET_KEY || DEFAULT_S3_SECRET_KEY,
    urls: {
      api: `http://127.0.0.1:${ports.api}`,
      docs: `http://127.0.0.1:${ports.api}/docs`,
      temporalUi: `http://127.0.0.1:${ports.temporalUi}`,
      s3: `http://127.0.0.1:${ports.s3}`,
      s3Console: `http://127.0.0.1:${ports.s3Console}`,
    },
  };
}

/** The shortest MLCYCLE_ADMIN_KEY libs/config accepts. */
const MIN_ADMIN_KEY_LENGTH = 24;

/**
 * The bootstrap admin key for the local stack: MLCYCLE_ADMIN_KEY when the user set it, else the key kept in
 * `<data>/admin-key` (mode 0600), generated on the first start. Sets `settings.adminKey` and returns
 * `{ key, source }`, where source is 'env' or the file's path.
 */
export function ensureAdminKey(settings, env = process.env) {
  if (env.MLCYCLE_ADMIN_KEY) {
    settings.adminKey = env.MLCYCLE_ADMIN_KEY;
    return { key: settings.adminKey, source: 'env' };
  }
  const file = path.join(settings.dataDir, 'admin-key');
  fs.mkdirSync(settings.dataDir, { recursive: true });
  try {
    // 'wx': never overwrite a key another launcher wrote a moment ago.
    fs.writeFileSync(file, `mlc_${randomBytes(32).toString('base64url')}\n`, { flag: 'wx', mode: 0o600 });
  } catch (err) {
    if (err.code !== 'EEXIST') throw err;
  }
  if ((fs.statSync(file).mode & 0o077) !== 0) fs.chmodSync(file, 0o600);
  const key = fs.readFileSync(file, 'utf8').trim();
  if (key.length < MIN_ADMIN_KEY_LENGTH || !/^[\x21-\x7e]+$/.test(key)) {
    throw new LaunchError(`${file} does not hold a usable admin key (${MIN_ADMIN_KEY_LENGTH}+ printable characters); delete it to get a new one`);
  }
  settings.adminKey = key;
  return { key, source: file };
}

/**
 * The environment the worker, the API and the example get: what libs/config reads. A variable the user already
 * set wins, so `MLCYCLE_DB_TYPE=postgres MLCYCLE_DB_URL=... npm start` works. The admin key is passed only once
 * `ensureAdminKey` has run.
 */
export function appEnv(settings, env = process.env) {
  const { dataDir, ports, urls } = settings;
  const ours = {
    MLCYCLE_DATA_DIR: dataDir,
    MLCYCLE_TEMPORAL_ADDRESS: `127.0.0.1:${ports.temporal}`,
    MLCYCLE_TEMPORAL_NAMESPACE: 'default',
    MLCYCLE_TEMPORAL_UI_URL: urls.temporalUi,
    MLCYCLE_S3_ENDPOINT: urls.s3,
    MLCYCLE_S3_ACCESS_KEY: settings.s3AccessKey,
    MLCYCLE_S3_SECRET_KEY: settings.s3SecretKey,
    MLCYCLE_S3_BUCKET: 'mlcycle',
    MLCYCLE_S3_CONSOLE_URL: urls.s3Console,
    MLCYCLE_DB_TYPE: 'sqlite',
    MLCYCLE_DB_PATH: path.join(dataDir, 'registry.sqlite'),
    MLCYCLE_API_PORT: String(ports.api),
    MLCYCLE_WORK_DIR: path.join(dataDir, 'work'),
    ...(settings.adminKey ? { MLCYCLE_ADMIN_KEY: settings.adminKey } : {}),
  };
  const merged = { ...env };
  for (const [k, v] of Object.entries(ours)) if (merged[k] === undefined || merged[k] === '') merged[k] = v;
  return merged;
}
