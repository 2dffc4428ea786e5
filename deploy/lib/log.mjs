// Console output for the launcher: one voice ("mlcycle ▸ ..."), timed steps, and coloured per-process prefixes.
// No dependencies: this runs before `npm install`.

const colourOn = process.env.NO_COLOR ? false : process.env.FORCE_COLOR ? true : Boolean(process.stdout.isTTY);

export function colourEnabled() {
  return colourOn;
}

const CODES = { red: 31, green: 32, yellow: 33, blue: 34, magenta: 35, cyan: 36, grey: 90, bold: 1 };

/** Wraps text in an ANSI colour when stdout is a terminal (or FORCE_COLOR is set, and NO_COLOR is not). */
export function paint(colour, text) {
  return colourOn ? `\x1b[${CODES[colour]}m${text}\x1b[0m` : text;
}

export function say(message) {
  process.stdout.write(`${paint('cyan', 'mlcycle ▸')} ${message}\n`);
}

export function warn(message) {
  process.stdout.write(`${paint('yellow', 'mlcycle ▲')} ${paint('yellow', message)}\n`);
}

export function fail(message) {
  process.stderr.write(`${paint('red', 'mlcycle ✖')} ${paint('red', message)}\n`);
}

/** Prints a banner that is hard to miss in a long CI log. */
export function loud(message) {
  const bar = '!'.repeat(78);
  process.stdout.write(`${paint('yellow', bar)}\n${paint('yellow', `!! ${message.split('\n').join('\n!! ')}`)}\n${paint('yellow', bar)}\n`);
}

export function seconds(ms) {
  return ms < 10_000 ? `${(ms / 1000).toFixed(1)}s` : `${Math.round(ms / 1000)}s`;
}

/** Every timed step of this run, in order, so the launcher can print a summary before handing over to jest. */
export const timings = [];

/**
 * Runs one set-up step, printing its start, its end and how long it took. The step's own result is returned;
 * a thrown error is reported with the elapsed time and rethrown.
 */
export async function step(title, fn) {
  const started = performance.now();
  say(`${title} …`);
  try {
    const result = await fn();
    const took = performance.now() - started;
    timings.push({ title, ms: took });
    say(`${paint('green', '✔')} ${title} ${paint('grey', `(${seconds(took)})`)}`);
    return result;
  } catch (err) {
    const took = performance.now() - started;
    timings.push({ title, ms: took, failed: true });
    fail(`${title} failed after ${seconds(took)}`);
    throw err;
  }
}

export function printTimings() {
  if (timings.length === 0) return;
  const width = Math.max(...timings.map((t) => t.title.length));
  say('set-up timings:');
  for (const t of timings) {
    process.stdout.write(`    ${t.title.padEnd(width)}  ${seconds(t.ms).padStart(6)}${t.failed ? '  (failed)' : ''}\n`);
  }
}

/** An error whose message is for the user: printed without a stack trace. */
export class LaunchError extends Error {
  constructor(message, exitCode = 1) {
    super(message);
    this.name = 'LaunchError';
    this.exitCode = exitCode;
  }
}
