// Python packages for the tests that drive Python: the external-trainer example (scikit-learn) and the Open Inference
// Protocol conformance test (NVIDIA's tritonclient). Best effort: when pip cannot install them, the tests that need
// them are skipped and say why, and everything else still runs.
import { spawnSync } from 'node:child_process';

export const PYTHON_TEST_PACKAGES = ['scikit-learn', 'skl2onnx', 'onnx', 'pandas', 'tritonclient[http]'];
const IMPORTS = 'import sklearn, skl2onnx, onnx, pandas, tritonclient.http';

export function ensurePythonTestPackages() {
  const python = process.env.MLCYCLE_PYTHON || 'python3';
  const probe = () => spawnSync(python, ['-c', IMPORTS], { stdio: 'ignore' }).status === 0;
  if (spawnSync(python, ['--version'], { stdio: 'ignore' }).status !== 0) return { ok: false, how: `${python} is not installed` };
  if (probe()) return { ok: true, how: `${python} already has ${PYTHON_TEST_PACKAGES.join(', ')}` };
  const pip = spawnSync(python, ['-m', 'pip', 'install', '--quiet', '--disable-pip-version-check', ...PYTHON_TEST_PACKAGES], {
    stdio: ['ignore', 'inherit', 'inherit'],
  });
  if (pip.status === 0 && probe()) return { ok: true, how: `installed ${PYTHON_TEST_PACKAGES.join(', ')} with pip` };
  return { ok: false, how: `pip could not install ${PYTHON_TEST_PACKAGES.join(', ')}; the tests that need them (scikit-learn trainer, tritonclient conformance) will be skipped` };
}
