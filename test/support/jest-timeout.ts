/**
 * Default per-test timeout for suites that talk to real servers (jest's 5 s is too short for a workflow that
 * trains a model). A test that needs more passes its own timeout; MLCYCLE_TEST_TIMEOUT_MS changes the default.
 */
jest.setTimeout(Number(process.env.MLCYCLE_TEST_TIMEOUT_MS || 120_000));
