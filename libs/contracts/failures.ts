/**
 * Failure types carried by ApplicationFailure.type. Every type listed in NON_RETRYABLE_FAILURES is input the
 * user has to fix: retrying cannot help, so workflows fail fast with the report attached as failure details.
 */
export const FAILURE_TYPES = {
  specInvalid: 'SpecInvalid',
  sourceNotAllowed: 'SourceNotAllowed',
  sourceNotFound: 'SourceNotFound',
  dataUnreadable: 'DataUnreadable',
  dataValidationFailed: 'DataValidationFailed',
  unknownTrainer: 'UnknownTrainer',
  trainerFailed: 'TrainerFailed',
  invalidModelArtifact: 'InvalidModelArtifact',
  artifactCorrupt: 'ArtifactCorrupt',
  notFound: 'NotFound',
} as const;

export type FailureType = (typeof FAILURE_TYPES)[keyof typeof FAILURE_TYPES];

export const NON_RETRYABLE_FAILURES: string[] = [
  FAILURE_TYPES.specInvalid,
  FAILURE_TYPES.sourceNotAllowed,
  FAILURE_TYPES.sourceNotFound,
  FAILURE_TYPES.dataUnreadable,
  FAILURE_TYPES.dataValidationFailed,
  FAILURE_TYPES.unknownTrainer,
  FAILURE_TYPES.trainerFailed,
  FAILURE_TYPES.invalidModelArtifact,
  FAILURE_TYPES.notFound,
];
