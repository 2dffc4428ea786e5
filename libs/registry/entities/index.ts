import { ApiKey } from './api-key.entity';
import { ApprovalRequest } from './approval-request.entity';
import { AuditEvent } from './audit-event.entity';
import { DatasetSnapshot } from './dataset-snapshot.entity';
import { Deployment } from './deployment.entity';
import { Model } from './model.entity';
import { ModelVersion } from './model-version.entity';
import { ReplicaStatus } from './replica-status.entity';
import { ServingStats } from './serving-stats.entity';
import { TrainingRun } from './training-run.entity';

export { ApiKey, ApprovalRequest, AuditEvent, DatasetSnapshot, Deployment, Model, ModelVersion, ReplicaStatus, ServingStats, TrainingRun };
export { ROLES } from './api-key.entity';
export type { Role } from './api-key.entity';
export type { ApprovalDecision, ApprovalStatus } from './approval-request.entity';
export type { DeploymentStage, RouteWeight, ShadowTarget } from './deployment.entity';
export type { ArtifactRef, Lineage } from './model-version.entity';
export const REGISTRY_ENTITIES = [Model, DatasetSnapshot, TrainingRun, ModelVersion, AuditEvent, Deployment, ReplicaStatus, ServingStats, ApprovalRequest, ApiKey];
