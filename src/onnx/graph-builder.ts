/**
 * A small typed builder for ONNX graphs. Model code calls `input`, `initializer`, `op` and `output` in the order a
 * forward pass runs; `toBytes()` serialises a ModelProto that `InferenceSession.create(bytes)` accepts.
 *
 * Every value gets a unique name (derived from the current scope, so a graph dump reads like the HF module tree),
 * intermediate values carry no shape information (ORT infers it), and graph inputs/outputs use symbolic dims so
 * one graph serves any batch size and sequence length.
 */
import {
  type GraphProtoData,
  AttributeType,
  ONNX_IR_VERSION,
  TensorDataType,
  type AttributeProtoData,
  type NodeProtoData,
  type TensorProtoData,
  type ValueInfoProtoData,
} from './proto.js';
import { encodeModel } from './encode-model.js';

export type DType = 'float32' | 'float64' | 'int64' | 'int32' | 'int8' | 'uint8' | 'bool';

const DATA_TYPE: Record<DType, number> = {
  float32: TensorDataType.FLOAT,
  float64: TensorDataType.DOUBLE,
  int64: TensorDataType.INT64,
  int32: TensorDataType.INT32,
  int8: TensorDataType.INT8,
  uint8: TensorDataType.UINT8,
  bool: TensorDataType.BOOL,
};

/** A named value flowing through the graph (graph input, initializer or node output). */
export class Value {
  constructor(readonly name: string) {}
}

/** Typed array holding an initializer's data; the element type gives the ONNX data type. */
export type TensorData = Float32Array | Float64Array | BigInt64Array | Int32Array | Int8Array | Uint8Array;

/** A dimension: a fixed size, or a symbolic name such as 'batch' shared between inputs and outputs. */
export type Dim = number | string;

/** A float attribute must be marked (an integer-valued float would otherwise be written as an INT). */
export interface FloatAttribute {
  readonly kind: 'float';
  readonly value: number;
}
export interface FloatsAttribute {
  readonly kind: 'floats';
  readonly value: number[];
}
/** A subgraph (the body of Loop, Scan or If), made by `GraphBuilder.subgraph`. */
export interface GraphAttribute {
  readonly kind: 'graph';
  readonly graph: GraphProtoData;
}
export interface TensorAttribute {
  readonly kind: 'tensor';
  readonly data: TensorData;
  readonly dims: number[];
}

/** Plain numbers are INT attributes, strings STRING, number arrays INTS, string arrays STRINGS. */
export type AttributeValue =
  number | string | number[] | string[] | FloatAttribute | FloatsAttribute | TensorAttribute | GraphAttribute;

export const attr = {
  float(value: number): FloatAttribute {
    return { kind: 'float', value };
  },
  floats(value: number[]): FloatsAttribute {
    return { kind: 'floats', value };
  },
  tensor(data: TensorData, dims: number[]): TensorAttribute {
    return { kind: 'tensor', data, dims };
  },
};

export interface OpOptions {
  /** Operator domain: '' (default ONNX domain) or e.g. 'com.microsoft'. */
  domain?: string;
  /** Base name for the node and its outputs (made unique); defaults to the op type. */
  name?: string;
}

export interface GraphBuilderOptions {
  /** Graph name written into the model. */
  name?: string;
  /** Default-domain opset version (17 or later so LayerNormalization exists). */
  opset?: number;
  /** Extra opset imports, e.g. { 'com.microsoft': 1 }. Domains used by `op` are imported automatically. */
  opsets?: Record<string, number>;
  producerName?: string;
  docString?: string;
}

/** Opset of the default domain: 17 is the first with LayerNormalization. */
export const DEFAULT_OPSET = 17;
const KNOWN_DOMAIN_OPSETS: Record<string, number> = { 'com.microsoft': 1 };

/** The lowest IR version that knows the given default-domain opset (ONNX release table). */
function irVersionFor(opset: number): number {
  if (opset <= 18) return ONNX_IR_VERSION;
  if (opset <= 20) return 9;
  return 10;
}

function dataTypeOf(data: TensorData): DType {
  if (data instanceof Float32Array) return 'float32';
  if (data instanceof Float64Array) return 'float64';
  if (data instanceof BigInt64Array) return 'int64';
  if (data instanceof Int32Array) return 'int32';
  if (data instanceof Int8Array) return 'int8';
  return 'uint8';
}

function checkDims(data: TensorData, dims: number[], what: string): void {
  const count = dims.reduce((a, b) => a * b, 1);
  if (dims.some((d) => !Number.isInteger(d) || d < 0) || count !== data.length) {
    throw new RangeError(`${what}: dims [${dims.join(', ')}] do not match ${data.length} elements`);
  }
}

/** The raw little-endian bytes of a typed array, without copying (ONNX raw_data is little-endian). */
function rawBytes(data: TensorData): Uint8Array {
  return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
}

function tensorProto(name: string, data: TensorData, dims: number[]): TensorProtoData {
  checkDims(data, dims, name || 'tensor');
  return { name, dims, dataType: DATA_TYPE[dataTypeOf(data)], rawData: rawBytes(data) };
}

function valueInfo(name: string, dtype: DType, dims: Dim[] | undefined): ValueInfoProtoData {
  const dim = (dims ?? []).map((d) => (typeof d === 'number' ? { dimValue: d } : { dimParam: d }));
  return {
    name,
    type: {
      tensorType: { elemType: DATA_TYPE[dtype], ...(dims ? { shape: { dim } } : {}) },
    } as ValueInfoProtoData['type'],
  };
}

function attributeProto(name: string, value: AttributeValue): AttributeProtoData {
  if (typeof value === 'number') {
    if (!Number.isInteger(value))
      throw new TypeError(`attribute ${name}: use attr.float() for the float ${value}`);
    return { name, type: AttributeType.INT, i: value };
  }
  if (typeof value === 'string')
    return { name, type: AttributeType.STRING, s: new TextEncoder().encode(value) };
  if (Array.isArray(value)) {
    if (value.every((v): v is number => typeof v === 'number')) {
      return { name, type: AttributeType.INTS, ints: value };
    }
    const encoder = new TextEncoder();
    return { name, type: AttributeType.STRINGS, strings: (value as string[]).map((v) => encoder.encode(v)) };
  }
  switch (value.kind) {
    case 'float':
      return { name, type: AttributeType.FLOAT, f: value.value };
    case 'floats':
      return { name, type: AttributeType.FLOATS, floats: value.value };
    case 'tensor':
      return { name, type: AttributeType.TENSOR, t: tensorProto('', value.data, value.dims) };
    case 'graph':
      return { name, type: AttributeType.GRAPH, g: value.graph };
  }
}

export class GraphBuilder {
  private nodes: NodeProtoData[] = [];
  private readonly initializers: TensorProtoData[] = [];
  private readonly inputs: ValueInfoProtoData[] = [];
  private readonly outputs: ValueInfoProtoData[] = [];
  private readonly usedNames = new Set<string>();
  private readonly domains = new Map<string, number>();
  private readonly scopes: string[] = [];
  private readonly options: GraphBuilderOptions;

  constructor(options: GraphBuilderOptions = {}) {
    this.options = options;
    const opset = options.opset ?? DEFAULT_OPSET;
    if (opset < DEFAULT_OPSET)
      throw new RangeError(`opset ${opset}: seqbatch graphs need opset ${DEFAULT_OPSET}+`);
    this.domains.set('', opset);
    for (const [domain, version] of Object.entries(options.opsets ?? {})) this.domains.set(domain, version);
  }

  /** Runs `body` with `name` appended to the scope, so values created inside are named `<scope>/<op>`. */
  scope<T>(name: string, body: () => T): T {
    this.scopes.push(name);
    try {
      return body();
    } finally {
      this.scopes.pop();
    }
  }

  /** A fresh name: `base` itself when free (after scoping), otherwise `base_1`, `base_2`, … */
  uniqueName(base: string): string {
    const scoped = this.scopes.length > 0 ? `${this.scopes.join('/')}/${base}` : base;
    let name = scoped;
    for (let n = 1; this.usedNames.has(name); n++) name = `${scoped}_${n}`;
    this.usedNames.add(name);
    return name;
  }

  private claimExactName(name: string, what: string): void {
    if (this.usedNames.has(name)) throw new Error(`${what} name "${name}" is already used in this graph`);
    this.usedNames.add(name);
  }

  /** Declares a graph input; its name is kept exactly (callers feed it by name). */
  input(name: string, dtype: DType, dims: Dim[]): Value {
    this.claimExactName(name, 'input');
    this.inputs.push(valueInfo(name, dtype, dims));
    return new Value(name);
  }

  /** Adds a constant tensor under exactly `name` (e.g. the checkpoint's tensor name). */
  initializer(name: string, data: TensorData, dims: number[]): Value {
    this.claimExactName(name, 'initializer');
    this.initializers.push(tensorProto(name, data, dims));
    return new Value(name);
  }

  /** An anonymous constant (scalars, shapes, axes), named uniquely from `base`. */
  constant(data: TensorData, dims: number[] = [data.length], base = 'const'): Value {
    const name = this.uniqueName(base);
    this.initializers.push(tensorProto(name, data, dims));
    return new Value(name);
  }

  /** A float32 scalar (rank 0) constant. */
  scalar(value: number, base = 'scalar'): Value {
    return this.constant(new Float32Array([value]), [], base);
  }

  /** An int64 vector constant, the usual type of shapes, axes and indices. */
  int64s(values: number[], base = 'ints'): Value {
    return this.constant(BigInt64Array.from(values.map((v) => BigInt(v))), [values.length], base);
  }

  /** Adds one node with a single output and returns that output. `null` inputs are omitted optional inputs. */
  op(
    opType: string,
    inputs: (Value | null)[],
    attributes: Record<string, AttributeValue> = {},
    options: OpOptions = {},
  ): Value {
    return this.opMulti(opType, inputs, 1, attributes, options)[0]!;
  }

  /** Adds one node with `outputCount` outputs. */
  opMulti(
    opType: string,
    inputs: (Value | null)[],
    outputCount: number,
    attributes: Record<string, AttributeValue> = {},
    options: OpOptions = {},
  ): Value[] {
    const domain = options.domain ?? '';
    if (!this.domains.has(domain)) {
      const version = KNOWN_DOMAIN_OPSETS[domain];
      if (version === undefined)
        throw new Error(`op ${opType}: no opset version known for domain "${domain}"`);
      this.domains.set(domain, version);
    }
    const nodeName = this.uniqueName(options.name ?? opType);
    const outputs: Value[] = [];
    for (let k = 0; k < outputCount; k++) {
      const outName = outputCount === 1 ? nodeName : `${nodeName}:${k}`;
      if (outputCount !== 1) this.claimExactName(outName, 'output');
      outputs.push(new Value(outName));
    }
    this.nodes.push({
      name: nodeName,
      opType,
      domain,
      input: inputs.map((v) => (v === null ? '' : v.name)),
      output: outputs.map((v) => v.name),
      attribute: Object.entries(attributes).map(([k, v]) => attributeProto(k, v)),
    });
    return outputs;
  }

  /**
   * Declares `value` as a graph output called `name` (an Identity node renames it when needed). `dims` may be left
   * out when the shape is not worth spelling; the element type is required by ONNX.
   */
  output(value: Value, name: string, dtype: DType, dims?: Dim[]): void {
    let source = value;
    if (value.name !== name) {
      this.claimExactName(name, 'output');
      this.nodes.push({
        name: `${name}/Identity`,
        opType: 'Identity',
        domain: '',
        input: [value.name],
        output: [name],
        attribute: [],
      });
      source = new Value(name);
    }
    this.outputs.push(valueInfo(source.name, dtype, dims));
  }

  get inputNames(): string[] {
    return this.inputs.map((i) => i.name);
  }

  get outputNames(): string[] {
    return this.outputs.map((o) => o.name);
  }

  /** Total bytes of initializer data so far (a serialised ModelProto cannot exceed 2 GiB). */
  get initializerBytes(): number {
    return this.initializers.reduce((total, t) => total + t.rawData.byteLength, 0);
  }

  /** Number of nodes so far (for tests and diagnostics). */
  get nodeCount(): number {
    return this.nodes.length;
  }

  /**
   * A subgraph attribute (e.g. a Loop body). Nodes added while `body` runs go into the subgraph; initializers still
   * go into this graph, and the body reads them (and any other value of this graph) from the outer scope, as ONNX
   * allows. Names stay unique across both. `body` gets the subgraph inputs and returns its outputs in order.
   */
  subgraph(
    name: string,
    inputs: { name: string; dtype: DType; dims?: Dim[] }[],
    body: (inputs: Value[]) => { value: Value; dtype: DType }[],
  ): GraphAttribute {
    const outer = this.nodes;
    const inner: NodeProtoData[] = [];
    this.nodes = inner;
    try {
      const values = inputs.map((input) => new Value(this.uniqueName(input.name)));
      const results = body(values);
      // Every output is produced by a node of the subgraph (an outer value or input passed through gets an Identity).
      const outputs = results.map(({ value, dtype }) => {
        const out = this.op('Identity', [value], {}, { name: `${name}_output` });
        return valueInfo(out.name, dtype, undefined);
      });
      return {
        kind: 'graph',
        graph: {
          name,
          node: inner,
          initializer: [],
          input: inputs.map((input, k) => valueInfo(values[k]!.name, input.dtype, input.dims)),
          output: outputs,
        },
      };
    } finally {
      this.nodes = outer;
    }
  }

  /** Serialises the ModelProto. Initializer bytes are copied once into the result (encode-model.ts). */
  toBytes(): Uint8Array {
    const model = {
      irVersion: irVersionFor(this.domains.get('') ?? DEFAULT_OPSET),
      producerName: this.options.producerName ?? 'seqbatch',
      docString: this.options.docString ?? '',
      opsetImport: [...this.domains].map(([domain, version]) => ({ domain, version })),
      graph: {
        name: this.options.name ?? 'seqbatch',
        node: this.nodes,
        initializer: this.initializers,
        input: this.inputs,
        output: this.outputs,
      },
    };
    return encodeModel(model);
  }
}
