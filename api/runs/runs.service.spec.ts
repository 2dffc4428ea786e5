import type { Client } from '@temporalio/client';
import type { AppConfig } from '../../libs/config';
import type { DatasetSnapshot, Model, RegistryService } from '../../libs/registry';
import { RequestContext } from '../common/request-context';
import type { ModelsService } from '../models/models.service';
import { RunsService } from './runs.service';

const DATASET = '3f2b8c1e-7d4a-4b6f-9e0a-1c2d3e4f5a6b';

function service(allowlist: string[] = ['data.example.org']): RunsService {
  const registry = {
    findDataset: async (id: string) => (id === DATASET ? ({ id, modelId: 'm1' } as DatasetSnapshot) : null),
  } as unknown as RegistryService;
  const config = { httpAllowlist: allowlist } as AppConfig;
  return new RunsService(registry, {} as ModelsService, {} as Client, new RequestContext(), config);
}

const model = (source?: string) => ({ id: 'm1', name: 'penguins', spec: { data: source ? { source } : {} } }) as unknown as Model;

describe('RunsService.resolveSource', () => {
  it('accepts an upload of this model (also as upload:<id>), s3 keys, and allowed hosts', async () => {
    const s = service();
    await expect(s.resolveSource(model(), `dataset:${DATASET}`)).resolves.toBe(`dataset:${DATASET}`);
    await expect(s.resolveSource(model(), `upload:${DATASET.toUpperCase()}`)).resolves.toBe(`dataset:${DATASET}`);
    await expect(s.resolveSource(model(), 's3://bucket/path/to/data.parquet')).resolves.toBe('s3://bucket/path/to/data.parquet');
    await expect(s.resolveSource(model(), 'https://DATA.example.org/p.csv')).resolves.toBe('https://data.example.org/p.csv');
  });

  it('falls back to the spec’s data.source, and needs one of the two', async () => {
    await expect(service().resolveSource(model('s3://b/k.csv'), undefined)).resolves.toBe('s3://b/k.csv');
    await expect(service().resolveSource(model(), undefined)).rejects.toThrow(/no data source/);
  });

  it('refuses hosts outside the allow-list, saying which hosts are allowed', async () => {
    await expect(service().resolveSource(model(), 'https://evil.example.com/x.csv')).rejects.toThrow(
      "host 'evil.example.com' is not in MLCYCLE_HTTP_ALLOWLIST (allowed hosts: data.example.org)",
    );
    await expect(service([]).resolveSource(model(), 'http://data.example.org/x.csv')).rejects.toThrow(/no hosts are allowed/);
  });

  it('refuses credentials in URLs, malformed S3 locations, unknown datasets and other schemes', async () => {
    const s = service();
    await expect(s.resolveSource(model(), 'https://u:p@data.example.org/x.csv')).rejects.toThrow(/must not carry credentials/);
    await expect(s.resolveSource(model(), 's3://bucket-only')).rejects.toThrow(/s3:\/\/bucket\/key/);
    await expect(s.resolveSource(model(), 'dataset:5b0e7c9a-2f1d-4c3b-8a9e-0d1c2b3a4f5e')).rejects.toThrow(/does not exist for model 'penguins'/);
    await expect(s.resolveSource(model(), 'dataset:../../etc/passwd')).rejects.toThrow(/is not a dataset id/);
    await expect(s.resolveSource(model(), 'file:///etc/passwd')).rejects.toThrow(/unsupported source/);
  });
});
