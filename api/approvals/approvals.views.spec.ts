import type { AppConfig } from '../../libs/config';
import type { RolloutState } from '../../libs/contracts';
import type { ApprovalRequest, ModelVersion } from '../../libs/registry';
import type { RolloutStatusView } from '../deployments/deployments.views';
import { toApprovalSummary, toApprovalView } from './approvals.views';

const config = { temporal: { uiUrl: 'http://ui:8233', namespace: 'default' } } as AppConfig;

const row = {
  id: 'a1',
  modelId: 'm1',
  version: 3,
  status: 'pending',
  requiredApprovals: 2,
  requestedBy: 'alice',
  workflowId: 'rollout/penguins/v3',
  decisions: [],
  reason: 'the model policy always asks for approval',
  expiresAt: new Date(3_600_000),
  createdAt: new Date(0),
  closedAt: null,
} as ApprovalRequest;

const version = (v: number, accuracy: number, status: string): ModelVersion =>
  ({ version: v, status, metrics: { accuracy }, artifacts: [{ kind: 'evaluation_report' }] }) as unknown as ModelVersion;

const summary = toApprovalSummary(config, row, { modelName: 'penguins', candidate: version(3, 0.9, 'registered'), champion: version(2, 0.88, 'champion'), evaluation: null }, 'accuracy');

describe('toApprovalSummary', () => {
  it('puts the candidate beside the champion on the primary metric, with the report and rollout links', () => {
    expect(summary).toMatchObject({
      model: 'penguins',
      approvals: 0,
      candidate: { version: 3, score: 0.9, evaluationReport: '/v1/models/penguins/versions/3/artifacts/evaluation_report' },
      champion: { version: 2, score: 0.88 },
      links: { decision: '/v1/approvals/a1/decision', deployment: '/v1/models/penguins/deployment', temporalUi: 'http://ui:8233/namespaces/default/workflows/rollout%2Fpenguins%2Fv3' },
    });
  });
});

describe('toApprovalView', () => {
  const state = (approvalId: string): RolloutState => ({
    modelName: 'penguins',
    version: 3,
    championVersion: 2,
    stage: 'awaiting_approval',
    paused: false,
    approval: {
      id: approvalId,
      required: true,
      status: 'escalated',
      requiredApprovals: 2,
      decisions: [{ reviewer: 'rita', decision: 'approve', comment: '', at: '2026-01-01T00:00:00.000Z' }],
      reason: '',
    },
  });
  const rollout = (s: RolloutState, live: boolean): RolloutStatusView => ({ workflowId: row.workflowId, workflowRunId: 'r', status: live ? 'RUNNING' : 'COMPLETED', live, state: s, links: { temporalUi: '' } });

  it('overlays status and decisions from the running rollout, which the row may trail', () => {
    const view = toApprovalView(summary, rollout(state('a1'), true));
    expect(view).toMatchObject({ live: true, status: 'escalated', approvals: 1, decisions: [{ reviewer: 'rita' }] });
  });

  it('keeps the row when the rollout is closed, or answers for another request', () => {
    expect(toApprovalView(summary, rollout(state('a1'), false))).toMatchObject({ live: false, status: 'pending', decisions: [] });
    expect(toApprovalView(summary, rollout(state('other'), true))).toMatchObject({ live: false, status: 'pending' });
    expect(toApprovalView(summary, null)).toMatchObject({ live: false, rollout: null });
  });
});
