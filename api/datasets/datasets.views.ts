/** What the API returns for data set snapshots, and the OpenAPI classes describing it. */
import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import type { DatasetSnapshot } from '../../libs/registry';

export const DATASET_FORMATS = ['csv', 'jsonl', 'parquet'] as const;
export type DatasetFormat = (typeof DATASET_FORMATS)[number];

export class DatasetUploaded {
  @ApiProperty()
  id!: string;

  @ApiProperty()
  sha256!: string;

  @ApiProperty()
  sizeBytes!: number;

  @ApiProperty({ enum: DATASET_FORMATS })
  format!: string;

  @ApiProperty({ example: 'dataset:3f2b8c1e-7d4a-4b6f-9e0a-1c2d3e4f5a6b', description: 'pass as `source` to POST /v1/models/{name}/runs' })
  source!: string;

  @ApiProperty({ description: 'false when the same bytes had been uploaded for this model before' })
  created!: boolean;
}

export class DatasetView {
  @ApiProperty()
  id!: string;

  @ApiProperty()
  modelId!: string;

  @ApiProperty()
  sha256!: string;

  @ApiProperty({ description: 'where the bytes came from (an upload, s3://…, https://…)' })
  origin!: string;

  @ApiProperty({ example: 'dataset:3f2b8c1e-7d4a-4b6f-9e0a-1c2d3e4f5a6b' })
  source!: string;

  @ApiProperty({ enum: DATASET_FORMATS })
  format!: string;

  @ApiProperty()
  objectKey!: string;

  @ApiProperty()
  sizeBytes!: number;

  @ApiProperty({ nullable: true, type: Number })
  rowCount!: number | null;

  @ApiProperty({ nullable: true, type: 'object', additionalProperties: true, description: 'column names and types, once validated' })
  schema!: DatasetSnapshot['schema'];

  @ApiProperty({ enum: ['pending', 'passed', 'warnings', 'failed'] })
  validationStatus!: DatasetSnapshot['validationStatus'];

  @ApiProperty()
  createdAt!: Date;
}

export class DatasetDetail extends DatasetView {
  @ApiPropertyOptional({ nullable: true, type: 'object', additionalProperties: true, description: 'the stored validation report, once a run validated this snapshot' })
  validationReport!: unknown;

  @ApiPropertyOptional({ nullable: true, type: 'object', additionalProperties: true, description: 'the stored data profile, once a run profiled this snapshot' })
  profile!: unknown;
}

export function toDatasetView(d: DatasetSnapshot): DatasetView {
  return {
    id: d.id,
    modelId: d.modelId,
    sha256: d.sha256,
    origin: d.source,
    source: `dataset:${d.id}`,
    format: d.format,
    objectKey: d.objectKey,
    sizeBytes: d.sizeBytes,
    rowCount: d.rowCount,
    schema: d.schema,
    validationStatus: d.validationStatus,
    createdAt: d.createdAt,
  };
}
