/**
 * scheduledRetrainWorkflow: what the model's Temporal Schedule starts at each cron tick. It only tells the model's
 * lifecycle, which decides (the cooldown and coalescing apply to a schedule like to any automatic trigger).
 */
import { getExternalWorkflowHandle } from '@temporalio/workflow';
import { lifecycleWorkflowId, scheduledRetrainSignal } from '../../libs/contracts';

export async function scheduledRetrainWorkflow(input: { modelName: string; cron: string }): Promise<void> {
  await getExternalWorkflowHandle(lifecycleWorkflowId(input.modelName)).signal(scheduledRetrainSignal, { cron: input.cron });
}
