import { DataType, encodeModel, floatInitializer, graph, node, tensorInfo } from './onnx-models';

/**
 * `slowModel({ width=512, layers=40 })`: x float32 [N, width] -> `layers` MatMuls with one shared
 * width x width weight -> y float32 [N, width]. Its cost grows with N (about N * layers * width^2
 * multiply-adds), so tests can make one run last long enough to time out or to be interrupted.
 */
export function slowModel(options: { width?: number; layers?: number } = {}): Buffer {
  const width = options.width ?? 512;
  const layers = options.layers ?? 40;
  const weights = new Float32Array(width * width).fill(1 / width);
  const nodes = Array.from({ length: layers }, (_, i) =>
    node('MatMul', [i === 0 ? 'x' : `h${i}`, 'W'], [i === layers - 1 ? 'y' : `h${i + 1}`]),
  );
  return encodeModel({
    graph: graph({
      name: 'slow',
      nodes,
      inputs: [tensorInfo('x', DataType.FLOAT, ['N', width])],
      outputs: [tensorInfo('y', DataType.FLOAT, ['N', width])],
      initializers: [floatInitializer('W', [width, width], weights)],
    }),
  });
}
