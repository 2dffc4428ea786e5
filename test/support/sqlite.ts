/**
 * SQLite for tests: a path in a fresh temporary directory. Under jest the directories go in the run's scratch
 * directory (MLCYCLE_TEST_TMP_DIR, made and removed by global-setup.ts / global-teardown.ts): a test file's
 * `process` is a sandbox copy whose exit listeners never fire, so it can't clean up after itself.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

export function tempSqlitePath(fileName = 'registry.sqlite'): string {
  const root = process.env.MLCYCLE_TEST_TMP_DIR || os.tmpdir();
  const dir = fs.mkdtempSync(path.join(root, 'mlcycle-sqlite-'));
  return path.join(dir, fileName);
}
