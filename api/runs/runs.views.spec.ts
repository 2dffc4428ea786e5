import type { AppConfig } from '../../libs/config';
import type { TrainingRunState } from '../../libs/contracts';
import type { TrainingRun } from '../../libs/registry';
import { temporalUiLink, toRunView } from './runs.views';

const config = { temporal: { uiUrl: 'http://ui:8233', namespace: 'default' } } as AppConfig;

const row: TrainingRun = {
  id: '3f2b8c1e-7d4a-4b6f-9e0a-1c2d3e4f5a6b',
  modelId: 'm1',
  status: 'running',
  steps: [
    { step: 'ingest', status: 'succeeded' },
    { step: 'validate', status: 'running' },
  ],
  source: 'dataset:d1',
  specHash: 'h',
  workflowId: 'train/penguins/3f2b8c1e-7d4a-4b6f-9e0a-1c2d3e4f5a6b',
  workflowRunId: 'r1',
  idempotencyKey: null,
  datasetId: null,
  evaluation: null,
  version: null,
  error: null,
  requestedBy: 'alice',
  createdAt: new Date(0),
  updatedAt: new Date(0),
  finishedAt: null,
} as TrainingRun;

describe('toRunView', () => {
  it('answers from the registry row when there is no live state', () => {
    const view = toRunView(config, row, 'penguins');
    expect(view).toMatchObject({ id: row.id, modelName: 'penguins', status: 'running', currentStep: 'validate', live: false, datasetId: null });
    expect(view.links.self).toBe(`/v1/runs/${row.id}`);
  });

  it('overlays the workflow’s live state and says so', () => {
    const live: TrainingRunState = {
      runId: row.id,
      modelName: 'penguins',
      status: 'running',
      currentStep: 'train',
      steps: [{ step: 'train', status: 'running' }],
      datasetId: 'd1',
      candidates: [{ trainer: 'gbdt', params: {}, validationScore: 0.9, modelKey: 'k', sha256: 's' }],
    };
    const view = toRunView(config, row, 'penguins', live);
    expect(view).toMatchObject({ currentStep: 'train', datasetId: 'd1', live: true, requestedBy: 'alice', workflowRunId: 'r1' });
    expect(view.steps).toEqual(live.steps);
    expect(view.candidates).toHaveLength(1);
  });
});

describe('temporalUiLink', () => {
  it('encodes the workflow ID, which contains slashes', () => {
    expect(temporalUiLink(config, 'train/penguins/abc')).toBe('http://ui:8233/namespaces/default/workflows/train%2Fpenguins%2Fabc');
  });
});
