/**
 * Every ONNX message type and field, by field number, as onnx.proto / onnx-ml.proto define them up
 * to IR version 11 (ONNX 1.18+: metadata_props, overloads, multi-device configuration). The raw
 * scan of an upload (model-scan.ts) is guided by this table: a field missing here is refused, so
 * whatever ONNX Runtime parses from the bytes is something the scan has looked at.
 *
 * Update this table when onnxruntime-node moves to an ONNX release with new fields.
 */

export type MessageType =
  | 'ModelProto'
  | 'GraphProto'
  | 'NodeProto'
  | 'AttributeProto'
  | 'TensorProto'
  | 'TensorProto.Segment'
  | 'SparseTensorProto'
  | 'ValueInfoProto'
  | 'TypeProto'
  | 'TypeProto.Tensor'
  | 'TypeProto.Sequence'
  | 'TypeProto.Map'
  | 'TypeProto.Optional'
  | 'TypeProto.SparseTensor'
  | 'TypeProto.Opaque'
  | 'TensorShapeProto'
  | 'TensorShapeProto.Dimension'
  | 'StringStringEntryProto'
  | 'TensorAnnotation'
  | 'OperatorSetIdProto'
  | 'TrainingInfoProto'
  | 'FunctionProto'
  | 'DeviceConfigurationProto'
  | 'NodeDeviceConfigurationProto'
  | 'ShardingSpecProto'
  | 'IntIntListEntryProto'
  | 'ShardedDimProto'
  | 'SimpleShardedDimProto';

/** Protobuf wire types (3 and 4, groups, are never used by ONNX). */
export enum WireType {
  Varint = 0,
  Fixed64 = 1,
  LengthDelimited = 2,
  Fixed32 = 5,
}

export type ScalarKind = 'varint' | 'fixed32' | 'fixed64' | 'bytes';

export type FieldSpec =
  | { name: string; message: MessageType }
  /** `repeated` numeric fields may also come packed (length-delimited). */
  | { name: string; scalar: ScalarKind; repeated?: true };

const message = (name: string, type: MessageType): FieldSpec => ({ name, message: type });
const bytes = (name: string): FieldSpec => ({ name, scalar: 'bytes' });
const varint = (name: string): FieldSpec => ({ name, scalar: 'varint' });
const varints = (name: string): FieldSpec => ({ name, scalar: 'varint', repeated: true });
const fixed32 = (name: string): FieldSpec => ({ name, scalar: 'fixed32' });
const fixed32s = (name: string): FieldSpec => ({ name, scalar: 'fixed32', repeated: true });
const fixed64s = (name: string): FieldSpec => ({ name, scalar: 'fixed64', repeated: true });

export const ONNX_SCHEMA: Record<MessageType, Readonly<Record<number, FieldSpec>>> = {
  ModelProto: {
    1: varint('ir_version'),
    2: bytes('producer_name'),
    3: bytes('producer_version'),
    4: bytes('domain'),
    5: varint('model_version'),
    6: bytes('doc_string'),
    7: message('graph', 'GraphProto'),
    8: message('opset_import', 'OperatorSetIdProto'),
    14: message('metadata_props', 'StringStringEntryProto'),
    20: message('training_info', 'TrainingInfoProto'),
    25: message('functions', 'FunctionProto'),
    26: message('configuration', 'DeviceConfigurationProto'),
  },
  GraphProto: {
    1: message('node', 'NodeProto'),
    2: bytes('name'),
    5: message('initializer', 'TensorProto'),
    10: bytes('doc_string'),
    11: message('input', 'ValueInfoProto'),
    12: message('output', 'ValueInfoProto'),
    13: message('value_info', 'ValueInfoProto'),
    14: message('quantization_annotation', 'TensorAnnotation'),
    15: message('sparse_initializer', 'SparseTensorProto'),
    16: message('metadata_props', 'StringStringEntryProto'),
  },
  NodeProto: {
    1: bytes('input'),
    2: bytes('output'),
    3: bytes('name'),
    4: bytes('op_type'),
    5: message('attribute', 'AttributeProto'),
    6: bytes('doc_string'),
    7: bytes('domain'),
    8: bytes('overload'),
    9: message('metadata_props', 'StringStringEntryProto'),
    10: message('device_configurations', 'NodeDeviceConfigurationProto'),
  },
  AttributeProto: {
    1: bytes('name'),
    2: fixed32('f'),
    3: varint('i'),
    4: bytes('s'),
    5: message('t', 'TensorProto'),
    6: message('g', 'GraphProto'),
    7: fixed32s('floats'),
    8: varints('ints'),
    9: bytes('strings'),
    10: message('tensors', 'TensorProto'),
    11: message('graphs', 'GraphProto'),
    13: bytes('doc_string'),
    14: message('tp', 'TypeProto'),
    15: message('type_protos', 'TypeProto'),
    20: varint('type'),
    21: bytes('ref_attr_name'),
    22: message('sparse_tensor', 'SparseTensorProto'),
    23: message('sparse_tensors', 'SparseTensorProto'),
  },
  TensorProto: {
    1: varints('dims'),
    2: varint('data_type'),
    3: message('segment', 'TensorProto.Segment'),
    4: fixed32s('float_data'),
    5: varints('int32_data'),
    6: bytes('string_data'),
    7: varints('int64_data'),
    8: bytes('name'),
    9: bytes('raw_data'),
    10: fixed64s('double_data'),
    11: varints('uint64_data'),
    12: bytes('doc_string'),
    13: message('external_data', 'StringStringEntryProto'),
    14: varint('data_location'),
    16: message('metadata_props', 'StringStringEntryProto'),
  },
  'TensorProto.Segment': { 1: varint('begin'), 2: varint('end') },
  SparseTensorProto: {
    1: message('values', 'TensorProto'),
    2: message('indices', 'TensorProto'),
    3: varints('dims'),
  },
  ValueInfoProto: {
    1: bytes('name'),
    2: message('type', 'TypeProto'),
    3: bytes('doc_string'),
    4: message('metadata_props', 'StringStringEntryProto'),
  },
  TypeProto: {
    1: message('tensor_type', 'TypeProto.Tensor'),
    4: message('sequence_type', 'TypeProto.Sequence'),
    5: message('map_type', 'TypeProto.Map'),
    6: bytes('denotation'),
    7: message('opaque_type', 'TypeProto.Opaque'),
    8: message('sparse_tensor_type', 'TypeProto.SparseTensor'),
    9: message('optional_type', 'TypeProto.Optional'),
  },
  'TypeProto.Tensor': { 1: varint('elem_type'), 2: message('shape', 'TensorShapeProto') },
  'TypeProto.Sequence': { 1: message('elem_type', 'TypeProto') },
  'TypeProto.Map': { 1: varint('key_type'), 2: message('value_type', 'TypeProto') },
  'TypeProto.Optional': { 1: message('elem_type', 'TypeProto') },
  'TypeProto.SparseTensor': { 1: varint('elem_type'), 2: message('shape', 'TensorShapeProto') },
  'TypeProto.Opaque': { 1: bytes('domain'), 2: bytes('name') },
  TensorShapeProto: { 1: message('dim', 'TensorShapeProto.Dimension') },
  'TensorShapeProto.Dimension': { 1: varint('dim_value'), 2: bytes('dim_param'), 3: bytes('denotation') },
  StringStringEntryProto: { 1: bytes('key'), 2: bytes('value') },
  TensorAnnotation: {
    1: bytes('tensor_name'),
    2: message('quant_parameter_tensor_names', 'StringStringEntryProto'),
  },
  OperatorSetIdProto: { 1: bytes('domain'), 2: varint('version') },
  TrainingInfoProto: {
    1: message('initialization', 'GraphProto'),
    2: message('algorithm', 'GraphProto'),
    3: message('initialization_binding', 'StringStringEntryProto'),
    4: message('update_binding', 'StringStringEntryProto'),
  },
  FunctionProto: {
    1: bytes('name'),
    4: bytes('input'),
    5: bytes('output'),
    6: bytes('attribute'),
    7: message('node', 'NodeProto'),
    8: bytes('doc_string'),
    9: message('opset_import', 'OperatorSetIdProto'),
    10: bytes('domain'),
    11: message('attribute_proto', 'AttributeProto'),
    12: message('value_info', 'ValueInfoProto'),
    13: bytes('overload'),
    14: message('metadata_props', 'StringStringEntryProto'),
  },
  DeviceConfigurationProto: { 1: bytes('name'), 2: varint('num_devices'), 3: bytes('device') },
  NodeDeviceConfigurationProto: {
    1: bytes('configuration_id'),
    2: message('sharding_spec', 'ShardingSpecProto'),
    3: varint('pipeline_stage'),
  },
  ShardingSpecProto: {
    1: bytes('tensor_name'),
    2: varints('device'),
    3: message('index_to_device_group_map', 'IntIntListEntryProto'),
    4: message('sharded_dim', 'ShardedDimProto'),
  },
  IntIntListEntryProto: { 1: varint('key'), 2: varints('value') },
  ShardedDimProto: { 1: varint('axis'), 2: message('simple_sharding', 'SimpleShardedDimProto') },
  SimpleShardedDimProto: { 1: varint('dim_value'), 2: bytes('dim_param'), 3: varint('num_shards') },
};

const SCALAR_WIRE_TYPES: Record<ScalarKind, WireType> = {
  varint: WireType.Varint,
  fixed32: WireType.Fixed32,
  fixed64: WireType.Fixed64,
  bytes: WireType.LengthDelimited,
};

/** Whether a field may arrive with this wire type (a repeated number may also come packed). */
export function fitsWireType(field: FieldSpec, wire: number): boolean {
  if ('message' in field) return wire === WireType.LengthDelimited;
  return wire === SCALAR_WIRE_TYPES[field.scalar] || (field.repeated === true && wire === WireType.LengthDelimited);
}
