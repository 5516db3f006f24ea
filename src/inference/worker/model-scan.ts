/**
 * A scan of an upload's raw protobuf bytes, guided by the ONNX field table (onnx-wire-schema.ts),
 * so that it sees exactly what ONNX Runtime will parse: every field of every message, including
 * those a generated decoder would drop or overwrite. It refuses
 * - bytes that are not well-formed protobuf (truncated, groups, bad wire types),
 * - any field number the table does not define, or a defined field with the wrong wire type,
 * - any tensor with data_location = EXTERNAL or external_data entries, wherever it sits,
 * - nesting deeper than MAX_MESSAGE_DEPTH (the protobuf parser's own default limit),
 * and reports which operators the graph and each local function use.
 */
import { FieldSpec, fitsWireType, MessageType, ONNX_SCHEMA, WireType } from './onnx-wire-schema';
import { ModelRejection } from './worker-errors';

/** Messages nested deeper than this are refused (C++ protobuf, and so ONNX Runtime, stops at 100). */
export const MAX_MESSAGE_DEPTH = 100;

/** A node: the operator it names, and where it sits (for messages). */
export interface NodeUse {
  domain: string;
  opType: string;
  overload: string;
  /** The node's name, else its operator. */
  label: string;
  /** The graph or function holding it, e.g. `the graph/If_y`. */
  where: string;
}

/** A model-local function (FunctionProto) and the nodes of its body. */
export interface LocalFunction {
  domain: string;
  name: string;
  overload: string;
  nodes: NodeUse[];
}

export interface ScanResult {
  /** Nodes of ModelProto.graph and of every subgraph inside it. */
  graphNodes: NodeUse[];
  functions: LocalFunction[];
}

/** The bytes are not well-formed protobuf. */
class MalformedBytes extends Error {}

/** Where a message sits: a label for messages, and the list its nodes belong to. */
interface Place {
  where: string;
  nodes: NodeUse[];
}

const MAX_LABEL = 80;
const MAX_PATH = 240;

/** Steps through the fields of one message, bytes [start, end), without copying anything. */
class FieldReader {
  field = 0;
  wire = 0;
  /** The field's payload: bytes [start, end); `value` is a varint's value or a length. */
  start = 0;
  end = 0;
  value = 0;
  private pos: number;

  constructor(
    private readonly bytes: Uint8Array,
    start: number,
    private readonly limit: number,
  ) {
    this.pos = start;
  }

  /** Moves to the next field; false at the end of the message. */
  next(): boolean {
    if (this.pos >= this.limit) return false;
    const tag = this.varint();
    this.field = Math.floor(tag / 8);
    this.wire = tag % 8;
    if (this.field < 1 || this.field > 0x1fffffff) throw new MalformedBytes(`invalid field number ${this.field}`);
    switch (this.wire) {
      case WireType.Varint:
        this.start = this.pos;
        this.value = this.varint();
        this.end = this.pos;
        return true;
      case WireType.Fixed64:
      case WireType.Fixed32:
        this.value = 0;
        return this.payload(this.wire === WireType.Fixed64 ? 8 : 4);
      case WireType.LengthDelimited:
        this.value = this.varint();
        return this.payload(this.value);
      default:
        throw new MalformedBytes(`field ${this.field} has wire type ${this.wire}, which ONNX never uses`);
    }
  }

  private payload(length: number): boolean {
    this.start = this.pos;
    this.end = this.pos + length;
    if (this.end > this.limit) throw new MalformedBytes(`field ${this.field} runs past the end of its message`);
    this.pos = this.end;
    return true;
  }

  /** Exact up to 2^53; beyond, approximate (a nonzero value stays nonzero). */
  private varint(): number {
    let value = 0;
    let scale = 1;
    for (let i = 0; i < 10; i++) {
      if (this.pos >= this.limit) throw new MalformedBytes(`a varint runs past the end of its message`);
      const byte = this.bytes[this.pos++];
      value += (byte & 0x7f) * scale;
      if ((byte & 0x80) === 0) return value;
      scale *= 128;
    }
    throw new MalformedBytes('a varint is longer than 10 bytes');
  }
}

function short(value: string): string {
  return value.length > MAX_LABEL ? `${value.slice(0, MAX_LABEL)}…` : value;
}

class ModelScan {
  readonly graphNodes: NodeUse[] = [];
  readonly functions: LocalFunction[] = [];
  private readonly ignoredNodes: NodeUse[] = [];
  private readonly buffer: Buffer;

  constructor(private readonly bytes: Uint8Array) {
    this.buffer = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }

  message(type: MessageType, start: number, end: number, place: Place, depth: number): void {
    if (depth > MAX_MESSAGE_DEPTH) {
      throw new ModelRejection(
        `the model nests messages more than ${MAX_MESSAGE_DEPTH} levels deep (in ${at(place)}): ` +
          'subgraphs inside subgraphs that deep are refused',
      );
    }
    const inner = this.enter(type, start, end, place);
    const schema = ONNX_SCHEMA[type];
    let external = false;
    let tensorName = '';
    let trainingInfos = 0;
    for (const reader = new FieldReader(this.bytes, start, end); reader.next();) {
      const { field: number, wire, start: from, end: to, value } = reader;
      const field = schema[number];
      if (!field) throw unknownField(type, number, inner, depth);
      if (!fitsWireType(field, wire)) throw wrongWireType(type, field, wire, inner, depth);
      if (type === 'TensorProto') {
        if (number === 13 || (number === 14 && value !== 0)) external = true;
        if (number === 8) tensorName = this.text(from, to);
      }
      if (!('message' in field)) continue;
      let child = inner;
      if (type === 'ModelProto' && number === 7) child = { where: 'the graph', nodes: this.graphNodes };
      if (type === 'ModelProto' && number === 20)
        child = { where: `training_info[${trainingInfos++}]`, nodes: this.ignoredNodes };
      if (type === 'TrainingInfoProto' && (number === 1 || number === 2))
        child = { where: `${place.where} ${field.name} graph`, nodes: place.nodes };
      this.message(field.message, from, to, child, depth + 1);
    }
    if (external) {
      throw new ModelRejection(
        `tensor '${short(tensorName) || '?'}' in ${at(place)} stores its data outside the file ` +
          '(data_location = EXTERNAL); external data is not accepted: save the model with all tensors inside the .onnx file',
      );
    }
  }

  /** Records nodes and functions; answers the place of the message's children. */
  private enter(type: MessageType, start: number, end: number, place: Place): Place {
    if (type === 'NodeProto') {
      const found = this.strings(start, end, [3, 4, 7, 8]);
      const opType = found[4] ?? '';
      const label = short(found[3] || opType || '?');
      place.nodes.push({ domain: found[7] ?? '', opType, overload: found[8] ?? '', label, where: place.where });
      return { where: `${place.where}/${label}`, nodes: place.nodes };
    }
    if (type === 'FunctionProto') {
      const found = this.strings(start, end, [1, 10, 13]);
      const fn: LocalFunction = {
        name: found[1] ?? '',
        domain: found[10] ?? '',
        overload: found[13] ?? '',
        nodes: [],
      };
      this.functions.push(fn);
      return { where: `function '${short(fn.name)}'`, nodes: fn.nodes };
    }
    return place;
  }

  /** The last value of each listed string field, by field number (proto2: the last occurrence wins). */
  private strings(start: number, end: number, wanted: readonly number[]): (string | undefined)[] {
    const found: (string | undefined)[] = [];
    for (const reader = new FieldReader(this.bytes, start, end); reader.next();) {
      if (reader.wire === WireType.LengthDelimited && wanted.includes(reader.field))
        found[reader.field] = this.text(reader.start, reader.end);
    }
    return found;
  }

  private text(start: number, end: number): string {
    return this.buffer.toString('utf8', start, end);
  }
}

/** A place for a message: the end of a long path is the informative part. */
function at(place: Place): string {
  return place.where.length > MAX_PATH ? `…${place.where.slice(-MAX_PATH)}` : place.where;
}

function unknownField(type: MessageType, field: number, place: Place, depth: number): ModelRejection {
  if (depth === 0) {
    return new ModelRejection(
      `not an ONNX model: ModelProto has no field ${field} (the bytes are another format, ` +
        'or carry data the ONNX format does not define)',
    );
  }
  return new ModelRejection(
    `${type} in ${at(place)} holds field ${field}, which the ONNX format does not define: ` +
      'data the safety scan cannot interpret is refused, as it could hide what ONNX Runtime reads',
  );
}

function wrongWireType(type: MessageType, field: FieldSpec, wire: number, place: Place, depth: number): ModelRejection {
  const problem = `${type}.${field.name} is encoded with wire type ${wire}, which the ONNX format does not use for it`;
  if (depth === 0) return new ModelRejection(`not an ONNX model: ${problem}`);
  return new ModelRejection(`${problem} (in ${at(place)}): data the safety scan cannot interpret is refused`);
}

/** Scans the bytes of a ModelProto; throws ModelRejection with the reason when they are refused. */
export function scanModel(bytes: Uint8Array): ScanResult {
  const scan = new ModelScan(bytes);
  try {
    scan.message('ModelProto', 0, bytes.length, { where: 'the model', nodes: [] }, 0);
  } catch (error) {
    if (error instanceof MalformedBytes) {
      throw new ModelRejection(
        `not an ONNX model: the bytes do not decode as a ModelProto (truncated or another format): ${error.message}`,
      );
    }
    throw error;
  }
  return { graphNodes: scan.graphNodes, functions: scan.functions };
}
