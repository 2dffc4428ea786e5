/**
 * The output "heads" of the graph contract, shared by every built-in trainer: classification turns [N,C] logits
 * into `probabilities` (Softmax) and `label` (ArgMax → class-name lookup); regression names its [N,1] output
 * `variable`.
 */
import { OUTPUT_LABEL, OUTPUT_PROBABILITIES, OUTPUT_VARIABLE } from './contract';
import type { GraphBuilder } from './model';
import { attr } from './model';

/** logits: [N,C] float, C = classes.length. Declares the `label` and `probabilities` outputs. */
export function emitSoftmaxClassifierHead(g: GraphBuilder, logits: string, classes: string[]): void {
  g.reserve(OUTPUT_PROBABILITIES);
  g.node('Softmax', [logits], [OUTPUT_PROBABILITIES], [attr.i('axis', 1)]);
  emitLabelFromProbabilities(g, classes);
  g.output(OUTPUT_LABEL, 'string', ['N']);
  g.output(OUTPUT_PROBABILITIES, 'float', ['N', classes.length]);
}

/** label = classes[argmax(probabilities)], first index on ties. */
export function emitLabelFromProbabilities(g: GraphBuilder, classes: string[]): void {
  const index = g.op('ArgMax', [OUTPUT_PROBABILITIES], [attr.i('axis', 1), attr.i('keepdims', 0), attr.i('select_last_index', 0)]);
  const names = g.constant('class_names', { type: 'string', dims: [classes.length], values: classes });
  g.reserve(OUTPUT_LABEL);
  g.node('Gather', [names, index], [OUTPUT_LABEL], [attr.i('axis', 0)]);
}

/** value: [N,1] float. Declares the `variable` output. */
export function emitRegressionHead(g: GraphBuilder, value: string): void {
  g.reserve(OUTPUT_VARIABLE);
  g.node('Identity', [value], [OUTPUT_VARIABLE]);
  g.output(OUTPUT_VARIABLE, 'float', ['N', 1]);
}
