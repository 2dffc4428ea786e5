import { Column, CreateDateColumn, Entity, Index, PrimaryColumn } from 'typeorm';

export type MonitoringReportStatus = 'ok' | 'drift' | 'quality_drop' | 'insufficient_data';

/**
 * One closed monitoring window of a model: the verdict and the numbers a timeline needs, with the whole report in
 * the artifact. The id derives from model and window, and (model, window) is unique, so a retried activity
 * rewrites the same row.
 */
@Entity('monitoring_reports')
@Index(['modelId', 'windowStart', 'windowEnd'], { unique: true })
@Index(['modelId', 'windowEnd'])
export class MonitoringReport {
  @PrimaryColumn({ type: 'varchar', length: 36 })
  id!: string;

  @Column({ type: 'varchar', length: 36 })
  modelId!: string;

  @Column({ type: Date })
  windowStart!: Date;

  @Column({ type: Date })
  windowEnd!: Date;

  /** the champion the window was compared against; null when nothing served */
  @Column({ type: 'integer', nullable: true })
  championVersion!: number | null;

  /** logged prediction rows in the window */
  @Column({ type: 'integer' })
  samples!: number;

  @Column({ type: 'varchar', length: 24 })
  status!: MonitoringReportStatus;

  /** null when the window had too few samples to say */
  @Column({ type: 'boolean', nullable: true })
  datasetDrift!: boolean | null;

  @Column({ type: 'simple-json' })
  driftedColumns!: string[];

  /** the MonitoringSummary (libs/contracts/monitoring.ts) plus the headline numbers of the report */
  @Column({ type: 'simple-json' })
  summary!: Record<string, unknown>;

  /** the full report (JSON) in the artifact store */
  @Column({ type: 'varchar', length: 300 })
  artifactKey!: string;

  @CreateDateColumn()
  createdAt!: Date;
}
