import { Column, CreateDateColumn, Entity, Index, PrimaryColumn } from 'typeorm';

export interface ArtifactRef {
  kind: 'model' | 'evaluation_report' | 'profile' | 'validation_report' | 'split' | 'dataset';
  key: string;
  sha256: string;
  sizeBytes: number;
  contentType: string;
}

export interface Lineage {
  datasetId: string;
  datasetSha256: string;
  datasetSource: string;
  splitSeed: number;
  splitMembershipHash: string;
  specHash: string;
  trainer: string;
  params: Record<string, number | string | boolean>;
  codeVersion: { package: string; gitCommit?: string };
  workflowId: string;
  workflowRunId: string;
  runId: string;
  /** the champion this version was compared against, if there was one */
  comparedWithVersion?: number;
}

/**
 * An immutable, numbered model version with everything needed to walk back from a prediction to the exact bytes
 * of data. One version per training run (unique runId) makes registration idempotent under activity retries.
 */
@Entity('model_versions')
@Index(['modelId', 'version'], { unique: true })
@Index(['runId'], { unique: true })
export class ModelVersion {
  @PrimaryColumn({ type: 'varchar', length: 36 })
  id!: string;

  @Column({ type: 'varchar', length: 36 })
  modelId!: string;

  @Column({ type: 'integer' })
  version!: number;

  @Column({ type: 'varchar', length: 36 })
  runId!: string;

  @Column({ type: 'varchar', length: 24, default: 'registered' })
  status!: string;

  @Column({ type: 'simple-json' })
  metrics!: Record<string, unknown>;

  @Column({ type: 'simple-json' })
  lineage!: Lineage;

  @Column({ type: 'simple-json' })
  artifacts!: ArtifactRef[];

  @CreateDateColumn()
  createdAt!: Date;
}
