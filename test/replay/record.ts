/**
 * Records a workflow's history for the replay suite when MLCYCLE_RECORD_HISTORIES names the shape, e.g.
 * `MLCYCLE_RECORD_HISTORIES=v2-rollout-after-register npm test -- test/workflows/training-pipeline`.
 * The CLI's JSON is the format the Temporal UI downloads and Worker.runReplayHistory reads.
 */
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { temporalBin, testServers } from '../support';

/** `runId` picks one run of a workflow that continues as new (by default, the latest run). */
export function recordHistoryIfAsked(workflowType: string, workflowId: string, runId?: string): void {
  const shape = process.env.MLCYCLE_RECORD_HISTORIES;
  if (!shape) return;
  const { temporal } = testServers();
  const json = execFileSync(temporalBin(), ['workflow', 'show', '--address', temporal.address, '--namespace', temporal.namespace, '--workflow-id', workflowId, ...(runId ? ['--run-id', runId] : []), '--output', 'json']);
  fs.writeFileSync(path.join(__dirname, 'histories', `${workflowType}.${shape}.json`), json);
}
