/**
 * Models that misbehave at run time, not at upload: one that runs for as long as its input says,
 * one that allocates as much memory as its input says. Both are valid, load, and warm up at once
 * on the zero-filled inputs of the upload warm-up (src/inference/worker/signature.ts); only a
 * prediction with large numbers makes them hang or swell. The engine must contain them: a
 * deadline (504), a memory ceiling per inference process (503), the other models serving on.
 */
import { onnx } from 'onnx-proto';
import { attr, DataType, encodeModel, floatInitializer, graph, node, tensorInfo } from './onnx-models';

/** Large enough that the loop outlives any test run: at millions of iterations a second, years. */
export const HANG_TRIP_COUNT = 1e15;

const AttributeType = onnx.AttributeProto.AttributeType;
const graphAttr = (name: string, g: onnx.IGraphProto): onnx.IAttributeProto => ({ name, type: AttributeType.GRAPH, g });
const tensorAttr = (name: string, t: onnx.ITensorProto): onnx.IAttributeProto => ({
  name,
  type: AttributeType.TENSOR,
  t,
});

/**
 * `hangModel()`: inputs `n` int64 [] (a scalar) and `x` float32 [N, 4]; output `y` float32 [N, 4].
 * y = x after a `Loop` of `n` iterations whose body passes x through (Identity). With n = 0 it
 * answers at once (the warm-up feeds zeros); with n = HANG_TRIP_COUNT it runs for years, and
 * ONNX Runtime offers no way to stop it short of ending the process it runs in.
 */
export function hangModel(): Buffer {
  const body = graph({
    name: 'hang_body',
    inputs: [
      tensorInfo('i', DataType.INT64, []),
      tensorInfo('cond_in', DataType.BOOL, []),
      tensorInfo('carried', DataType.FLOAT, ['N', 4]),
    ],
    outputs: [tensorInfo('cond_out', DataType.BOOL, []), tensorInfo('carried_out', DataType.FLOAT, ['N', 4])],
    nodes: [node('Identity', ['cond_in'], ['cond_out']), node('Identity', ['carried'], ['carried_out'])],
  });
  return encodeModel({
    graph: graph({
      name: 'hang',
      inputs: [tensorInfo('n', DataType.INT64, []), tensorInfo('x', DataType.FLOAT, ['N', 4])],
      outputs: [tensorInfo('y', DataType.FLOAT, ['N', 4])],
      nodes: [node('Loop', ['n', '', 'x'], ['y'], [graphAttr('body', body)])],
    }),
  });
}

/** float32 elements a memory bomb request allocates: 2^29, 2 GiB (4 bytes each). */
export const BOMB_ELEMENTS = 2 ** 29;

/**
 * `memoryBombModel()`: inputs `shape` int64 [1] and `passes` int64 [] (a scalar); output `y`
 * float32 [] (a scalar).
 *
 * `ConstantOfShape(shape, value = 1)` writes a float32 tensor of `shape[0]` ones, so every page of
 * it is touched (resident), then a `Loop` of `passes` iterations adds its `ReduceSum` to y:
 * y = shape[0] * passes, while the request and the response stay a few bytes. The tensor lives
 * until the loop ends, so with a large `passes` the memory stays held for as long as the run
 * lasts: the process is over any ceiling for good, not for the instant a fast machine needs to
 * fill and sum it. The warm-up (shape [0], passes 0) allocates nothing.
 */
export function memoryBombModel(): Buffer {
  const body = graph({
    name: 'bomb_body',
    inputs: [
      tensorInfo('i', DataType.INT64, []),
      tensorInfo('cond_in', DataType.BOOL, []),
      tensorInfo('acc', DataType.FLOAT, []),
    ],
    outputs: [tensorInfo('cond_out', DataType.BOOL, []), tensorInfo('acc_out', DataType.FLOAT, [])],
    nodes: [
      node('Identity', ['cond_in'], ['cond_out']),
      // `filled` comes from the outer graph: the loop keeps it alive until its last iteration.
      node('ReduceSum', ['filled'], ['pass_sum'], [attr.int('keepdims', 0)]),
      node('Add', ['acc', 'pass_sum'], ['acc_out']),
    ],
  });
  return encodeModel({
    graph: graph({
      name: 'memory_bomb',
      inputs: [tensorInfo('shape', DataType.INT64, [1]), tensorInfo('passes', DataType.INT64, [])],
      outputs: [tensorInfo('y', DataType.FLOAT, [])],
      initializers: [floatInitializer('zero', [], [0])],
      nodes: [
        node('ConstantOfShape', ['shape'], ['filled'], [tensorAttr('value', floatInitializer('one', [1], [1]))]),
        node('Loop', ['passes', '', 'zero'], ['y'], [graphAttr('body', body)]),
      ],
    }),
  });
}
