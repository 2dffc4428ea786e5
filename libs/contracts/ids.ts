/** Task queues and the one place workflow IDs are built, so the API, the worker and the UI agree on them. */

export const TASK_QUEUES = {
  /** orchestration and fast metadata activities */
  control: 'mlcycle-control',
  /** heavy compute (training, evaluation); may run on its own workers */
  training: 'mlcycle-training',
} as const;

/** Custom search attributes registered on the Temporal namespace, used to filter runs in the Temporal UI. */
export const SEARCH_ATTRIBUTES = {
  model: 'MlcycleModel',
  status: 'MlcycleStatus',
  step: 'MlcycleStep',
} as const;

export function trainingWorkflowId(modelName: string, runId: string): string {
  return `train/${modelName}/${runId}`;
}

import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';

/** Typed keys for upserting the search attributes above from workflow code. */
export const SEARCH_ATTRIBUTE_KEYS = {
  model: defineSearchAttributeKey(SEARCH_ATTRIBUTES.model, SearchAttributeType.KEYWORD),
  status: defineSearchAttributeKey(SEARCH_ATTRIBUTES.status, SearchAttributeType.KEYWORD),
  step: defineSearchAttributeKey(SEARCH_ATTRIBUTES.step, SearchAttributeType.KEYWORD),
};
