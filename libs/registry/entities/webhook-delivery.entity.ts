import { Column, Entity, PrimaryColumn } from 'typeorm';

/** Delivery of one alert to one webhook URL: every attempt updates it, success sets deliveredAt. */
@Entity('webhook_deliveries')
export class WebhookDelivery {
  @PrimaryColumn({ type: 'varchar', length: 36 })
  alertId!: string;

  @PrimaryColumn({ type: 'varchar', length: 500 })
  url!: string;

  @Column({ type: 'integer', default: 0 })
  attempts!: number;

  /** HTTP status of the last attempt; null when it got no answer */
  @Column({ type: 'integer', nullable: true })
  lastStatus!: number | null;

  @Column({ type: 'text', nullable: true })
  lastError!: string | null;

  @Column({ type: Date, nullable: true })
  lastAttemptAt!: Date | null;

  @Column({ type: Date, nullable: true })
  deliveredAt!: Date | null;
}
