import {
  attr,
  DataType,
  encodeModel,
  floatInitializer,
  graph,
  int64Initializer,
  node,
  tensorInfo,
} from './onnx-models';

/**
 * `slowModel({ width=512, layers=40, tile=1 })`: x float32 [N, width] -> `layers` MatMuls with one
 * shared width x width weight -> y float32 [N, width]. Its cost grows with N * layers * width^2.
 *
 * With `tile` > 1 the rows are first repeated `tile` times and y is their mean, float32
 * [1, width]: the run is as slow as N * tile rows while the request and response stay small.
 *
 * Heavy work, for benchmarks and load. Never rely on how long it takes: a faster machine finishes
 * it before the test acts. To have work in flight at a given moment, hold it instead: a job
 * attempt with JobGate (job-gate.ts), a model run with holdModelLoads (model-gate.ts).
 */
export function slowModel(options: { width?: number; layers?: number; tile?: number } = {}): Buffer {
  const width = options.width ?? 512;
  const layers = options.layers ?? 40;
  const tile = options.tile ?? 1;
  const weights = new Float32Array(width * width).fill(1 / width);
  const first = tile > 1 ? 'tiled' : 'x';
  const last = tile > 1 ? 'h_last' : 'y';
  const nodes = [
    ...(tile > 1 ? [node('Tile', ['x', 'repeats'], ['tiled'])] : []),
    ...Array.from({ length: layers }, (_, i) =>
      node('MatMul', [i === 0 ? first : `h${i}`, 'W'], [i === layers - 1 ? last : `h${i + 1}`]),
    ),
    ...(tile > 1 ? [node('ReduceMean', ['h_last'], ['y'], [attr.ints('axes', [0]), attr.int('keepdims', 1)])] : []),
  ];
  return encodeModel({
    graph: graph({
      name: 'slow',
      nodes,
      inputs: [tensorInfo('x', DataType.FLOAT, ['N', width])],
      outputs: [tensorInfo('y', DataType.FLOAT, tile > 1 ? [1, width] : ['N', width])],
      initializers: [
        floatInitializer('W', [width, width], weights),
        ...(tile > 1 ? [int64Initializer('repeats', [2], [tile, 1])] : []),
      ],
    }),
  });
}
