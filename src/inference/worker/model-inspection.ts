import { onnx } from 'onnx-proto';
import { LocalFunction, NodeUse, scanModel, ScanResult } from './model-scan';
import { ModelRejection } from './worker-errors';

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

export { ModelRejection };

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

const functionKey = (domain: string, name: string, overload: string): string => `${domain}\0${name}\0${overload}`;

/**
 * Operator domains decide only where a node uses them: the graph, its subgraphs, and the local
 * functions those nodes call (transitively). Domains merely declared in opset_import, functions
 * nobody calls and training_info graphs are what ONNX Runtime ignores too.
 */
function checkDomains(scan: ScanResult): void {
  const functions = new Map(scan.functions.map((fn) => [functionKey(fn.domain, fn.name, fn.overload), fn]));
  const functionDomains = new Set(scan.functions.map((fn) => fn.domain));
  const visited = new Set<LocalFunction>();
  const pending: { nodes: NodeUse[]; caller?: LocalFunction }[] = [{ nodes: scan.graphNodes }];
  for (let work = pending.pop(); work; work = pending.pop()) {
    for (const node of work.nodes) {
      const local = functions.get(functionKey(node.domain, node.opType, node.overload));
      if (local) {
        if (!visited.has(local)) pending.push({ nodes: local.nodes, caller: local });
        visited.add(local);
        continue;
      }
      if (SUPPORTED_DOMAINS.has(node.domain)) continue;
      if (work.caller) {
        throw new ModelRejection(
          `function '${work.caller.name}' uses operator ${node.opType} from unsupported domain '${node.domain}'`,
        );
      }
      throw new ModelRejection(
        functionDomains.has(node.domain)
          ? `node '${node.label}' in ${node.where} calls ${node.opType} in domain '${node.domain}', ` +
              'which no local function of the model defines'
          : `node '${node.label}' in ${node.where} uses operator ${node.opType} from domain '${node.domain}', ` +
              'which ONNX Runtime does not ship',
      );
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

/**
 * Scans the raw bytes (structure, external data, nesting), checks the operator domains nodes use,
 * then decodes the ModelProto for the facts reported with the version.
 */
export function inspectProto(bytes: Uint8Array): ProtoFacts {
  if (bytes.length === 0) throw new ModelRejection('the file is empty');
  const scan = scanModel(bytes);
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
  checkDomains(scan);
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
