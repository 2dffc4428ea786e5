/**
 * Determinism guard: every recorded history under test/replay/histories must replay against today's workflow
 * code. A change to a workflow's command sequence that is not behind `patched()` fails here before it can break
 * runs in flight. Record a new history for each released workflow shape (see test/replay/README.md).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Worker } from '@temporalio/worker';
import { workflowBundle } from '../workflows/pipeline-harness';

const dir = path.join(__dirname, 'histories');
const files = fs.existsSync(dir) ? fs.readdirSync(dir).filter((f) => f.endsWith('.json')).sort() : [];

test('there is at least one recorded history per workflow type', () => {
  const types = new Set(files.map((f) => f.split('.')[0]));
  expect(types).toContain('trainingPipelineWorkflow');
  expect(types).toContain('rolloutWorkflow');
  expect(types).toContain('modelLifecycleWorkflow');
});

test.each(files)('replays %s without nondeterminism', async (file) => {
  const history = JSON.parse(fs.readFileSync(path.join(dir, file), 'utf8'));
  const workflowType = file.split('.')[0];
  await Worker.runReplayHistory({ workflowBundle: await workflowBundle() }, history, `${workflowType}-${file}`);
});
