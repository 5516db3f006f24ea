import { onnx } from 'onnx-proto';

/**
 * Operator domains ONNX Runtime's CPU build implements. A node in any other domain cannot run,
 * and a custom-op library is never loaded for an upload.
 */
export const SUPPORTED_DOMAINS = new Set([
  '',
  'ai.onnx',
  'ai.onnx.ml',
  'ai.onnx.preview.training',
  'ai.onnx.training',
  'com.microsoft',
  'com.microsoft.nchwc',
  'com.microsoft.experimental',
  'com.ms.internal.nhwc',
]);

export class ModelRejection extends Error {
  override name = 'ModelRejection';
}

export interface ProtoFacts {
  irVersion: number;
  opsetVersion: number;
  producerName: string;
  producerVersion: string;
  /** Symbolic dimension names per graph input/output, from the proto. */
  dimParams: Map<string, (string | null)[]>;
}

function toNumber(value: number | { toNumber(): number } | null | undefined): number {
  if (value === null || value === undefined) return 0;
  return typeof value === 'number' ? value : value.toNumber();
}

function checkTensor(tensor: onnx.ITensorProto, where: string): void {
  if (tensor.dataLocation === onnx.TensorProto.DataLocation.EXTERNAL || (tensor.externalData?.length ?? 0) > 0) {
    throw new ModelRejection(
      `tensor '${tensor.name ?? '?'}' in ${where} stores its data outside the file (data_location = EXTERNAL); ` +
        'external data is not accepted: save the model with all tensors inside the .onnx file',
    );
  }
}

/** Walks a graph and its subgraphs: external data and unsupported operator domains. */
function checkGraph(graph: onnx.IGraphProto, localDomains: Set<string>, where: string): void {
  for (const tensor of graph.initializer ?? []) checkTensor(tensor, where);
  for (const sparse of graph.sparseInitializer ?? []) checkSparse(sparse, where);
  checkNodes(graph.node ?? [], localDomains, where);
}

function checkSparse(sparse: onnx.ISparseTensorProto, where: string): void {
  if (sparse.values) checkTensor(sparse.values, where);
  if (sparse.indices) checkTensor(sparse.indices, where);
}

/** Node domains, and every tensor and subgraph held in node attributes (Constant, If, Loop, Scan). */
function checkNodes(nodes: onnx.INodeProto[], localDomains: Set<string>, where: string, owner?: string): void {
  for (const node of nodes) {
    const domain = node.domain ?? '';
    const at = `${where}/${node.name || node.opType}`;
    if (!SUPPORTED_DOMAINS.has(domain) && !localDomains.has(domain)) {
      throw new ModelRejection(
        owner
          ? `${owner} uses operator ${node.opType} from unsupported domain '${domain}'`
          : `node '${node.name || node.opType}' uses operator ${node.opType} from domain '${domain}', which ONNX Runtime does not ship`,
      );
    }
    for (const attribute of node.attribute ?? []) {
      if (attribute.t) checkTensor(attribute.t, at);
      for (const t of attribute.tensors ?? []) checkTensor(t, at);
      if (attribute.sparseTensor) checkSparse(attribute.sparseTensor, at);
      for (const sparse of attribute.sparseTensors ?? []) checkSparse(sparse, at);
      if (attribute.g) checkGraph(attribute.g, localDomains, at);
      for (const g of attribute.graphs ?? []) checkGraph(g, localDomains, at);
    }
  }
}

function dimParamsOf(values: onnx.IValueInfoProto[] | null | undefined, into: Map<string, (string | null)[]>): void {
  for (const value of values ?? []) {
    const dims = value.type?.tensorType?.shape?.dim;
    if (value.name && dims)
      into.set(
        value.name,
        dims.map((d) => (d.dimParam ? d.dimParam : null)),
      );
  }
}

/** Decodes the ModelProto and applies the checks that must pass before ONNX Runtime sees the bytes. */
export function inspectProto(bytes: Uint8Array): ProtoFacts {
  if (bytes.length === 0) throw new ModelRejection('the file is empty');
  let model: onnx.ModelProto;
  try {
    model = onnx.ModelProto.decode(bytes);
  } catch (error) {
    throw new ModelRejection(
      `not an ONNX model: the bytes do not decode as a ModelProto (truncated or another format): ${(error as Error).message}`,
    );
  }
  const irVersion = toNumber(model.irVersion);
  if (irVersion <= 0) throw new ModelRejection('not an ONNX model: it has no IR version');
  if (!model.graph) throw new ModelRejection('the model has no graph');
  if ((model.opsetImport ?? []).length === 0) throw new ModelRejection('the model has no opset imports');
  for (const opset of model.opsetImport) {
    const domain = opset.domain ?? '';
    const local = (model.functions ?? []).some((f) => f.domain === domain);
    if (!SUPPORTED_DOMAINS.has(domain) && !local) {
      throw new ModelRejection(`the model imports operator domain '${domain}', which ONNX Runtime does not ship`);
    }
  }
  const localDomains = new Set((model.functions ?? []).map((f) => f.domain ?? ''));
  checkGraph(model.graph, localDomains, 'the graph');
  for (const fn of model.functions ?? []) {
    checkNodes(fn.node ?? [], localDomains, `function '${fn.name}'`, `function '${fn.name}'`);
  }
  const defaultOpset = model.opsetImport.find((o) => !o.domain || o.domain === 'ai.onnx');
  const dimParams = new Map<string, (string | null)[]>();
  dimParamsOf(model.graph.input, dimParams);
  dimParamsOf(model.graph.output, dimParams);
  return {
    irVersion,
    opsetVersion: toNumber(defaultOpset?.version),
    producerName: model.producerName ?? '',
    producerVersion: model.producerVersion ?? '',
    dimParams,
  };
}
