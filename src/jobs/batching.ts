import { elementCount, NumericArray, TensorData } from '../inference/tensor';
import type { TensorSpec } from '../inference/tensor-spec';

/** One instance of a job, decoded and ready to run. */
export interface PreparedInstance {
  index: number;
  feeds: Record<string, TensorData>;
}

/** Instances that can run as one batch: the same trailing shapes, stacked along dimension 0. */
export interface BatchGroup {
  members: PreparedInstance[];
  /** Rows each member contributes (its leading dimension). */
  rows: number[];
}

/**
 * Instances may be stacked along dimension 0 when every input and every output has a dynamic
 * leading dimension and, where those dimensions are named, they all share one name (`batch`).
 * A model whose leading dimensions differ in meaning (a state of [2, batch, 128], a sequence
 * first) runs its instances one by one.
 */
export function canBatch(inputs: readonly TensorSpec[], outputs: readonly TensorSpec[]): boolean {
  return batchingObstacle(inputs, outputs) === undefined;
}

/**
 * Why a signature cannot be stacked along dimension 0 (the rule of canBatch), naming the tensor
 * at fault, or undefined when it can: "input 'x' has the fixed first dimension 1 (shape [1, 4])".
 */
export function batchingObstacle(inputs: readonly TensorSpec[], outputs: readonly TensorSpec[]): string | undefined {
  if (inputs.length === 0) return 'it has no inputs';
  if (outputs.length === 0) return 'it has no outputs';
  const tensors = [
    ...inputs.map((spec) => ({ kind: 'input', spec })),
    ...outputs.map((spec) => ({ kind: 'output', spec })),
  ];
  for (const { kind, spec } of tensors) {
    if (spec.shape.length === 0) return `${kind} '${spec.name}' has no first dimension (rank 0 or no declared shape)`;
    if (spec.shape[0] !== -1) {
      return `${kind} '${spec.name}' has the fixed first dimension ${spec.shape[0]} (shape [${spec.shape.join(', ')}])`;
    }
  }
  const names = new Set(tensors.map(({ spec }) => spec.dimNames?.[0]).filter((name): name is string => Boolean(name)));
  if (names.size > 1) {
    const listed = [...names].map((name) => `'${name}'`).join(', ');
    return `its first dimensions have different names (${listed}), so they are not one batch dimension`;
  }
  return undefined;
}

/** Rows an instance contributes to a batch, or undefined when its inputs disagree on dimension 0. */
function leadingRows(instance: PreparedInstance, specs: readonly TensorSpec[]): number | undefined {
  const rows = instance.feeds[specs[0].name]?.dims[0];
  if (rows === undefined || rows < 1) return undefined;
  return specs.every((spec) => instance.feeds[spec.name]?.dims[0] === rows) ? rows : undefined;
}

function trailingKey(instance: PreparedInstance, specs: readonly TensorSpec[]): string {
  return specs
    .map((spec) => {
      const tensor = instance.feeds[spec.name];
      return `${tensor.dtype}[${tensor.dims.slice(1).join(',')}]`;
    })
    .join(';');
}

/**
 * Splits instances into batch groups of identical trailing shapes, each holding at most
 * `maxElements` input elements and at most `maxMembers` instances, and singles that cannot be
 * stacked (a leading dimension of 0, inputs that disagree on it).
 */
export function groupForBatching(
  instances: readonly PreparedInstance[],
  specs: readonly TensorSpec[],
  maxElements: number,
  maxMembers: number,
): { groups: BatchGroup[]; singles: PreparedInstance[] } {
  const open = new Map<string, BatchGroup & { elements: number }>();
  const groups: BatchGroup[] = [];
  const singles: PreparedInstance[] = [];
  for (const instance of instances) {
    const rows = leadingRows(instance, specs);
    if (rows === undefined) {
      singles.push(instance);
      continue;
    }
    const elements = specs.reduce((n, spec) => n + elementCount(instance.feeds[spec.name].dims), 0);
    const key = trailingKey(instance, specs);
    let group = open.get(key);
    if (group && (group.elements + elements > maxElements || group.members.length >= maxMembers)) {
      groups.push(group);
      group = undefined;
    }
    if (!group) {
      group = { members: [], rows: [], elements: 0 };
      open.set(key, group);
    }
    group.members.push(instance);
    group.rows.push(rows);
    group.elements += elements;
  }
  groups.push(...open.values());
  // A group of one is a single run; keeping it apart also keeps its buffers for a retry.
  return {
    groups: groups.filter((g) => g.members.length > 1).map(({ members, rows }) => ({ members, rows })),
    singles: singles.concat(groups.filter((g) => g.members.length === 1).flatMap((g) => g.members)),
  };
}

/** The group's inputs concatenated along dimension 0, in new buffers (the members keep theirs). */
export function stack(group: BatchGroup, specs: readonly TensorSpec[]): Record<string, TensorData> {
  const totalRows = group.rows.reduce((a, b) => a + b, 0);
  const feeds: Record<string, TensorData> = {};
  for (const spec of specs) {
    const parts = group.members.map((m) => m.feeds[spec.name]);
    const dims = [totalRows, ...parts[0].dims.slice(1)];
    let data: TensorData['data'];
    if (Array.isArray(parts[0].data)) {
      data = parts.flatMap((p) => p.data as string[]);
    } else {
      const first = parts[0].data as NumericArray;
      const Ctor = first.constructor as new (length: number) => NumericArray;
      const out = new Ctor(elementCount(dims));
      let offset = 0;
      for (const part of parts) {
        (out as Float32Array).set(part.data as Float32Array, offset);
        offset += part.data.length;
      }
      data = out;
    }
    Object.defineProperty(feeds, spec.name, {
      value: { dtype: parts[0].dtype, dims, data },
      enumerable: true,
      writable: true,
      configurable: true,
    });
  }
  return feeds;
}

/**
 * The batch's outputs cut back into one output map per member, or undefined when an output's
 * leading dimension is not the batch (the model does not treat rows independently).
 */
export function split(
  outputs: Record<string, TensorData>,
  rows: readonly number[],
): Record<string, TensorData>[] | undefined {
  const totalRows = rows.reduce((a, b) => a + b, 0);
  const perMember: Record<string, TensorData>[] = rows.map(() => ({}));
  for (const [name, tensor] of Object.entries(outputs)) {
    if (tensor.dims.length === 0 || tensor.dims[0] !== totalRows) return undefined;
    const stride = elementCount(tensor.dims.slice(1));
    let row = 0;
    rows.forEach((count, i) => {
      const start = row * stride;
      const end = (row + count) * stride;
      const data = Array.isArray(tensor.data)
        ? tensor.data.slice(start, end)
        : (tensor.data as Float32Array).subarray(start, end);
      Object.defineProperty(perMember[i], name, {
        value: { dtype: tensor.dtype, dims: [count, ...tensor.dims.slice(1)], data },
        enumerable: true,
        writable: true,
        configurable: true,
      });
      row += count;
    });
  }
  return perMember;
}
