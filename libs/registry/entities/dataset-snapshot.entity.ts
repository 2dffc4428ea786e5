import { Column, CreateDateColumn, Entity, Index, PrimaryColumn } from 'typeorm';
import type { DatasetSchema } from '../../ml/data/types';

export type ValidationStatus = 'pending' | 'passed' | 'warnings' | 'failed';

/**
 * An immutable snapshot of a data set, keyed by the sha256 of its bytes: the same bytes ingested twice for a
 * model are one snapshot (unique model + sha256), which is what makes ingest idempotent under retries.
 */
@Entity('dataset_snapshots')
@Index(['modelId', 'sha256'], { unique: true })
export class DatasetSnapshot {
  @PrimaryColumn({ type: 'varchar', length: 36 })
  id!: string;

  @Column({ type: 'varchar', length: 36 })
  modelId!: string;

  @Column({ type: 'varchar', length: 64 })
  sha256!: string;

  @Column({ type: 'text' })
  source!: string;

  @Column({ type: 'varchar', length: 16 })
  format!: string;

  @Column({ type: 'text' })
  objectKey!: string;

  @Column({ type: 'bigint', transformer: { to: (v: number) => v, from: (v: string | number) => Number(v) } })
  sizeBytes!: number;

  @Column({ type: 'simple-json', nullable: true })
  schema!: DatasetSchema | null;

  @Column({ type: 'integer', nullable: true })
  rowCount!: number | null;

  @Column({ type: 'text', nullable: true })
  profileKey!: string | null;

  @Column({ type: 'text', nullable: true })
  validationReportKey!: string | null;

  @Column({ type: 'varchar', length: 16, default: 'pending' })
  validationStatus!: ValidationStatus;

  @CreateDateColumn()
  createdAt!: Date;
}
