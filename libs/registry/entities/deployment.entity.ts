import { Column, Entity, PrimaryColumn, UpdateDateColumn } from 'typeorm';

export interface RouteWeight {
  version: number;
  /** share of live traffic, 0..100; the weights of a deployment add up to 100 */
  weight: number;
}

export interface ShadowTarget {
  version: number;
  /** share of requests mirrored to the shadow version, 0..100 */
  share: number;
}

export type DeploymentStage = 'idle' | 'shadow' | 'canary' | 'blue_green' | 'promoted' | 'rolling_back' | 'rolled_back';

/**
 * The desired routing of one model: which versions serve which share of traffic, and which version (if any)
 * receives mirrored shadow traffic. Every change bumps `revision`; serving replicas reconcile to the latest
 * revision and report it in replica_status, so a rollout step can wait until every live replica has converged.
 */
@Entity('deployments')
export class Deployment {
  @PrimaryColumn({ type: 'varchar', length: 36 })
  modelId!: string;

  @Column({ type: 'integer' })
  revision!: number;

  @Column({ type: 'simple-json' })
  routes!: RouteWeight[];

  @Column({ type: 'simple-json', nullable: true })
  shadow!: ShadowTarget | null;

  @Column({ type: 'varchar', length: 16 })
  stage!: DeploymentStage;

  /** the rollout workflow that owns the current change, if any */
  @Column({ type: 'varchar', length: 200, nullable: true })
  rolloutWorkflowId!: string | null;

  /** request header whose value pins a caller to one version (sticky routing), or null */
  @Column({ type: 'varchar', length: 100, nullable: true })
  stickyKeyHeader!: string | null;

  @UpdateDateColumn()
  updatedAt!: Date;
}
