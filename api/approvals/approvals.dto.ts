import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import { IsIn, IsInt, IsOptional, IsString, Matches, Max, MaxLength, Min } from 'class-validator';
import { MODEL_NAME_PATTERN } from '../common/validation';

export const APPROVAL_FILTERS = ['pending', 'approved', 'rejected', 'expired', 'all'] as const;
export type ApprovalFilter = (typeof APPROVAL_FILTERS)[number];

export class ListApprovalsQuery {
  @ApiPropertyOptional({ enum: APPROVAL_FILTERS, default: 'pending', description: 'pending includes escalated requests' })
  @IsOptional()
  @IsIn(APPROVAL_FILTERS, { message: `status must be one of ${APPROVAL_FILTERS.join(', ')}` })
  status?: ApprovalFilter;

  @ApiPropertyOptional({ example: 'penguins', description: "only this model's requests" })
  @IsOptional()
  @Matches(MODEL_NAME_PATTERN, { message: 'model must be a model name: 1-63 lowercase letters, digits and dashes' })
  @IsString({ message: 'model must be a string' })
  model?: string;

  @ApiPropertyOptional({ minimum: 1, maximum: 500, default: 100 })
  @IsOptional()
  @Type(() => Number)
  // class-validator checks the decorator nearest the property first: the type, then the bounds.
  @Min(1, { message: 'limit must be at least 1' })
  @Max(500, { message: 'limit must be at most 500' })
  @IsInt({ message: 'limit must be an integer' })
  limit?: number;
}

export class DecisionBody {
  @ApiProperty({ enum: ['approve', 'reject'] })
  @IsIn(['approve', 'reject'], { message: "decision must be 'approve' or 'reject'" })
  decision!: 'approve' | 'reject';

  @ApiPropertyOptional({ example: 'metrics and the evaluation report look good', description: 'recorded with the decision and in the audit log' })
  @IsOptional()
  @MaxLength(2000, { message: 'comment must be at most 2000 characters' })
  @IsString({ message: 'comment must be a string' })
  comment?: string;
}
