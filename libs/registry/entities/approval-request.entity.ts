import { Column, CreateDateColumn, Entity, Index, PrimaryColumn } from 'typeorm';

export type ApprovalStatus = 'pending' | 'approved' | 'rejected' | 'expired';

export interface ApprovalDecision {
  reviewer: string;
  decision: 'approve' | 'reject';
  comment: string;
  at: string;
}

/** A request for human approval of one candidate version, decided through the rollout workflow's update. */
@Entity('approval_requests')
@Index(['modelId', 'version'], { unique: true })
export class ApprovalRequest {
  @PrimaryColumn({ type: 'varchar', length: 36 })
  id!: string;

  @Column({ type: 'varchar', length: 36 })
  modelId!: string;

  @Column({ type: 'integer' })
  version!: number;

  @Column({ type: 'varchar', length: 16 })
  status!: ApprovalStatus;

  @Column({ type: 'integer', default: 1 })
  requiredApprovals!: number;

  /** who started the run that produced the candidate: never allowed to approve it (four-eyes) */
  @Column({ type: 'varchar', length: 200 })
  requestedBy!: string;

  @Column({ type: 'varchar', length: 200 })
  workflowId!: string;

  @Column({ type: 'simple-json' })
  decisions!: ApprovalDecision[];

  /** why it was opened (policy and comparison with the champion) */
  @Column({ type: 'text' })
  reason!: string;

  @Column({ type: Date, nullable: true })
  expiresAt!: Date | null;

  @CreateDateColumn()
  createdAt!: Date;

  @Column({ type: Date, nullable: true })
  closedAt!: Date | null;
}
