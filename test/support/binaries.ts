/**
 * Where the temporal and minio binaries are. `npm test` (deploy/launch.mjs) builds them and passes their paths in
 * MLCYCLE_TEMPORAL_BIN / MLCYCLE_MINIO_BIN; a bare `npx jest` finds them in the shared cache instead. Tests never
 * download anything.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

function cachedBinDir(): string {
  if (process.env.MLCYCLE_BIN_DIR) return path.resolve(process.env.MLCYCLE_BIN_DIR);
  const cache = process.env.MLCYCLE_CACHE_DIR ? path.resolve(process.env.MLCYCLE_CACHE_DIR) : path.join(os.homedir(), '.cache', 'mlcycle');
  return path.join(cache, 'bin');
}

function resolveBinary(name: 'temporal' | 'minio', envVar: string): string {
  const fromEnv = process.env[envVar];
  const candidate = fromEnv || path.join(cachedBinDir(), name);
  try {
    fs.accessSync(candidate, fs.constants.X_OK);
    return candidate;
  } catch {
    throw new Error(
      fromEnv
        ? `${envVar}=${fromEnv} is not an executable file`
        : `no ${name} binary at ${candidate}: run \`node deploy/launch.mjs setup\` (or \`npm test\`) to build it, or set ${envVar}`,
    );
  }
}

export function temporalBin(): string {
  return resolveBinary('temporal', 'MLCYCLE_TEMPORAL_BIN');
}

export function minioBin(): string {
  return resolveBinary('minio', 'MLCYCLE_MINIO_BIN');
}
