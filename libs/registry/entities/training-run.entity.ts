import { Column, CreateDateColumn, Entity, Index, PrimaryColumn, UpdateDateColumn } from 'typeorm';
import type { EvaluationSummary, RunStatus, StepState } from '../../contracts/training';

/** One execution of the training pipeline; mirrors the workflow's state so it outlives Temporal's retention. */
@Entity('training_runs')
@Index(['modelId', 'idempotencyKey'], { unique: true })
export class TrainingRun {
  @PrimaryColumn({ type: 'varchar', length: 36 })
  id!: string;

  @Column({ type: 'varchar', length: 36 })
  modelId!: string;

  @Column({ type: 'varchar', length: 16 })
  status!: RunStatus;

  @Column({ type: 'simple-json' })
  steps!: StepState[];

  @Column({ type: 'text' })
  source!: string;

  @Column({ type: 'varchar', length: 64 })
  specHash!: string;

  @Column({ type: 'varchar', length: 200 })
  workflowId!: string;

  @Column({ type: 'varchar', length: 64, nullable: true })
  workflowRunId!: string | null;

  /** client-supplied Idempotency-Key; null when none (NULLs never collide in a unique index) */
  @Column({ type: 'varchar', length: 200, nullable: true })
  idempotencyKey!: string | null;

  @Column({ type: 'varchar', length: 36, nullable: true })
  datasetId!: string | null;

  @Column({ type: 'simple-json', nullable: true })
  evaluation!: EvaluationSummary | null;

  @Column({ type: 'integer', nullable: true })
  version!: number | null;

  @Column({ type: 'text', nullable: true })
  error!: string | null;

  @Column({ type: 'varchar', length: 200 })
  requestedBy!: string;

  @CreateDateColumn()
  createdAt!: Date;

  @UpdateDateColumn()
  updatedAt!: Date;

  @Column({ type: Date, nullable: true })
  finishedAt!: Date | null;
}
