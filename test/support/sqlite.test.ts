/** tempSqlitePath: a fresh directory per call, and no database file until someone opens it. */
import * as fs from 'node:fs';
import * as path from 'node:path';

import { tempSqlitePath } from './sqlite';

test('each call gives a path in its own new, empty directory', () => {
  const a = tempSqlitePath();
  const b = tempSqlitePath();
  expect(path.dirname(a)).not.toBe(path.dirname(b));
  expect(fs.readdirSync(path.dirname(a))).toEqual([]);
  expect(path.basename(a)).toBe('registry.sqlite');
});
