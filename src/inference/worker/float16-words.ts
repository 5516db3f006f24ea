/**
 * onnxruntime-node 1.30 hands float16 tensors to its native binding as a Float16Array whenever the
 * runtime has one (Node.js 24 does), and the binding cannot read that type: every float16 run
 * fails with "not enough space: expected 2, got 0". Without the global, ONNX Runtime keeps float16
 * data as Uint16Array (raw 16-bit words), which is what this service moves anyway (tensor.ts).
 * Imported for its effect by each process that runs ONNX Runtime, before the first tensor.
 */
Reflect.deleteProperty(globalThis, 'Float16Array');
