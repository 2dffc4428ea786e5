/**
 * The lint rules that keep workflow code deterministic are part of the product: this checks that they really
 * reject what they must (a rule that silently stopped matching would let a nondeterministic workflow ship).
 */
import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';

const root = path.join(__dirname, '..');

const REJECTED: [string, string][] = [
  ["import * as fs from 'node:fs';\nexport const x = fs;\n", 'no-restricted-imports'],
  ["import { Client } from '@temporalio/client';\nexport const x = Client;\n", 'no-restricted-imports'],
  ["import { Injectable } from '@nestjs/common';\nexport const x = Injectable;\n", 'no-restricted-imports'],
  ["import { DataSource } from 'typeorm';\nexport const x = DataSource;\n", 'no-restricted-imports'],
  ["import { createTrainingActivities } from '../../activities/training/training.activities';\nexport const x = createTrainingActivities;\n", 'no-restricted-imports'],
  ['export const x = Math.random();\n', 'no-restricted-properties'],
  ['export const x = Date.now();\n', 'no-restricted-properties'],
  ['export const x = setInterval(() => undefined, 1);\n', 'no-restricted-globals'],
];
const ACCEPTED = [
  "import { proxyActivities } from '@temporalio/workflow';",
  "import type * as activities from '../../activities/training/training.activities';",
  'type A = ReturnType<typeof activities.createTrainingActivities>;',
  "export const a = proxyActivities<A>({ startToCloseTimeout: '1m' });",
  '',
].join('\n');

/**
 * ESLint runs once, in its own process, as `npm test` runs it (its flat config is ESM, which jest's loader cannot
 * import), over probe files inside workflows/ so that the workflow-only rules and the type-aware parser apply.
 */
function lint(sources: string[]): Promise<string[][]> {
  const eslint = path.join(root, 'node_modules', 'eslint', 'bin', 'eslint.js');
  const probes = sources.map((code, i) => {
    const probe = path.join(root, 'workflows', 'training', `__lint_probe_${randomUUID().slice(0, 8)}_${i}.ts`);
    fs.writeFileSync(probe, code);
    return probe;
  });
  return new Promise<string[][]>((resolve, reject) => {
    execFile(process.execPath, [eslint, '--format', 'json', ...probes], { cwd: root, maxBuffer: 10 * 1024 * 1024 }, (err, stdout) => {
      // eslint exits 1 when it finds problems; only a missing or unparsable report is a real error.
      try {
        const results = JSON.parse(stdout) as { filePath: string; messages: { ruleId: string | null; message: string }[] }[];
        resolve(probes.map((p) => results.find((r) => r.filePath === p)!.messages.map((m) => m.ruleId ?? m.message)));
      } catch {
        reject(err ?? new Error(`eslint printed no report: ${stdout}`));
      }
    });
  }).finally(() => probes.forEach((p) => fs.rmSync(p, { force: true })));
}

describe('workflow determinism lint rules', () => {
  let reports: string[][];
  beforeAll(async () => {
    reports = await lint([...REJECTED.map(([code]) => code), ACCEPTED]);
  }, 120_000);

  test.each(REJECTED.map(([code, rule], i) => [code, rule, i] as const))('rejects %j with %s', (_code, rule, i) => {
    expect(reports[i]).toContain(rule);
  });

  test('accepts the SDK and type-only imports of activities', () => {
    expect(reports[REJECTED.length]).toEqual([]);
  });
});
