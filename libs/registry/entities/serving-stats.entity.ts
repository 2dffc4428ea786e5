import { Column, Entity, Index, PrimaryGeneratedColumn } from 'typeorm';

/**
 * Per-replica, per-version traffic counters for one short window (a few seconds), flushed by each serving
 * replica. Rollout guardrails sum them over the replicas and the windows since a step began.
 */
@Entity('serving_stats')
@Index(['modelId', 'windowStart'])
export class ServingStats {
  @PrimaryGeneratedColumn()
  id!: number;

  @Column({ type: 'varchar', length: 36 })
  modelId!: string;

  @Column({ type: 'integer' })
  version!: number;

  @Column({ type: 'varchar', length: 100 })
  replicaId!: string;

  /** 'live' for routed traffic, 'shadow' for mirrored traffic whose responses were discarded */
  @Column({ type: 'varchar', length: 8 })
  kind!: 'live' | 'shadow';

  @Column({ type: Date })
  windowStart!: Date;

  @Column({ type: 'integer' })
  requests!: number;

  @Column({ type: 'integer' })
  errors!: number;

  /** latency histogram: counts per upper bound in milliseconds (JSON object bound → count, plus '+Inf') */
  @Column({ type: 'simple-json' })
  latencyBuckets!: Record<string, number>;

  /** predicted label (or regression bin) → count: the prediction distribution for divergence checks */
  @Column({ type: 'simple-json' })
  predictions!: Record<string, number>;

  /** shadow only: how many mirrored predictions agreed with the live version's answer to the same request */
  @Column({ type: 'integer', default: 0 })
  agreements!: number;
}
