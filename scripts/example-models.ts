/**
 * Builds the example models README's walkthrough uses, with the same onnx-proto builders the tests
 * use, and writes them to a folder (default: examples/). The files are committed, so a fresh
 * clone can follow the walkthrough; scripts/example-models.spec.ts checks they equal this output.
 * Usage: npm run examples   (or, after tsc: node dist/scripts/example-models.js [folder])
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { attr, DataType, encodeModel, floatInitializer, graph, node, tensorInfo } from '../test/support/onnx-models';

/** Class indices of the iris example's `label` output. */
export const IRIS_SPECIES = ['setosa', 'versicolor', 'virginica'] as const;

/**
 * iris.onnx (and iris-v2.onnx, see irisV2Model): x float32 [batch, 4] (sepal length, sepal width, petal length, petal width, in cm)
 * -> logits = Gemm(x, W, b, transB=1) -> label = ArgMax(logits) int64 [batch] and
 * probabilities = Softmax(logits) float32 [batch, 3].
 *
 * Not trained: hand-set weights after the textbook rule for this data set. Setosa's logit is
 * 2 * (2.5 - petal length), versicolor's 0, virginica's 4 * (petal width - 1.75), so a petal
 * shorter than 2.5 cm says setosa, a petal wider than 1.75 cm virginica, anything else versicolor.
 */
export function irisModel(): Buffer {
  return irisClassifier(
    1.75,
    'Iris species from sepal and petal sizes (cm); hand-set weights, see scripts/example-models.ts',
  );
}

/**
 * iris-v2.onnx: the candidate of README's "Releasing a new version", the same signature with the
 * versicolor/virginica boundary moved from a petal width of 1.75 cm to 1.6 cm, so the two versions
 * agree on most flowers and disagree on some (what a shadow comparison is for).
 */
export function irisV2Model(): Buffer {
  return irisClassifier(
    1.6,
    'Iris species from sepal and petal sizes (cm), version 2: virginica from a petal width of 1.6 cm; hand-set weights',
  );
}

/** The iris classifier with virginica's logit 4 * (petal width - virginicaWidth). */
function irisClassifier(virginicaWidth: number, docString: string): Buffer {
  // prettier-ignore
  const weights = [
    0, 0, -2, 0, // setosa
    0, 0, 0, 0, // versicolor
    0, 0, 0, 4, // virginica
  ];
  return encodeModel({
    producerName: 'modelforge-examples',
    docString,
    graph: graph({
      name: 'iris',
      inputs: [tensorInfo('x', DataType.FLOAT, ['batch', 4])],
      outputs: [
        tensorInfo('label', DataType.INT64, ['batch']),
        tensorInfo('probabilities', DataType.FLOAT, ['batch', 3]),
      ],
      initializers: [floatInitializer('W', [3, 4], weights), floatInitializer('b', [3], [5, 0, -4 * virginicaWidth])],
      nodes: [
        node('Gemm', ['x', 'W', 'b'], ['logits'], [attr.int('transB', 1)]),
        node('ArgMax', ['logits'], ['label'], [attr.int('axis', 1), attr.int('keepdims', 0)]),
        node('Softmax', ['logits'], ['probabilities'], [attr.int('axis', 1)]),
      ],
    }),
  });
}

/** The two flowers of README's prediction (sepal length, sepal width, petal length, petal width). */
const TWO_FLOWERS = [5.1, 3.5, 1.4, 0.2, 6.2, 2.9, 4.3, 1.3];

/**
 * iris-infer.bin: an Open Inference Protocol infer request for iris with the binary tensor data
 * extension: its JSON, then `x` as 8 little-endian float32 values. README's curl sends it with
 * `Inference-Header-Content-Length` set to the JSON's length (IRIS_INFER_HEADER_LENGTH).
 */
export function irisInferBody(): Buffer {
  const header = Buffer.from(IRIS_INFER_HEADER, 'utf8');
  const x = Buffer.alloc(TWO_FLOWERS.length * 4);
  TWO_FLOWERS.forEach((value, i) => x.writeFloatLE(value, i * 4));
  return Buffer.concat([header, x]);
}

const IRIS_INFER_HEADER = JSON.stringify({
  inputs: [{ name: 'x', shape: [2, 4], datatype: 'FP32', parameters: { binary_data_size: 32 } }],
  outputs: [{ name: 'label' }],
});
export const IRIS_INFER_HEADER_LENGTH = Buffer.byteLength(IRIS_INFER_HEADER);

/** Every example file by its name. */
export function exampleModels(): Record<string, Buffer> {
  return { 'iris.onnx': irisModel(), 'iris-v2.onnx': irisV2Model(), 'iris-infer.bin': irisInferBody() };
}

function main(folder: string): void {
  fs.mkdirSync(folder, { recursive: true });
  for (const [name, bytes] of Object.entries(exampleModels())) {
    fs.writeFileSync(path.join(folder, name), bytes);
    console.log(`${path.join(folder, name)}: ${bytes.length} bytes`);
  }
}

if (require.main === module) main(process.argv[2] ?? 'examples');
