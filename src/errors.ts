/**
 * Typed errors. Every error seqbatch throws on bad input is a SeqbatchError whose message names the file,
 * field or argument at fault and what was expected, so callers (and the CLI) can print it without a stack trace.
 */
export interface ErrorContext {
  /** The file being read, when the problem is in a file. */
  file?: string;
  /** A JSON path or field name inside that file, e.g. `model.vocab` or `normalizer.type`. */
  field?: string;
  /** The API option or CLI flag at fault, e.g. `maxLength` or `--stride`. */
  argument?: string;
  /** The underlying error, if this wraps one. */
  cause?: unknown;
}

export class SeqbatchError extends Error {
  readonly code: string;
  readonly file?: string;
  readonly field?: string;
  readonly argument?: string;

  constructor(code: string, message: string, context: ErrorContext = {}) {
    super(message, context.cause === undefined ? undefined : { cause: context.cause });
    this.name = new.target.name;
    this.code = code;
    this.file = context.file;
    this.field = context.field;
    this.argument = context.argument;
  }
}

/** A tokenizer or model configuration file is missing, malformed or names something unsupported. */
export class ConfigError extends SeqbatchError {
  constructor(message: string, context: ErrorContext = {}) {
    super('ERR_CONFIG', message, context);
  }
}

/** An argument passed by the caller (API option, CLI flag, input text) is invalid. */
export class InputError extends SeqbatchError {
  constructor(message: string, context: ErrorContext = {}) {
    super('ERR_INPUT', message, context);
  }
}

/** A weights file (safetensors) is corrupt, truncated, hostile or does not match the architecture. */
export class WeightsError extends SeqbatchError {
  constructor(message: string, context: ErrorContext = {}) {
    super('ERR_WEIGHTS', message, context);
  }
}

/** Running a model failed (ONNX Runtime error, shape mismatch found at run time). */
export class InferenceError extends SeqbatchError {
  constructor(message: string, context: ErrorContext = {}) {
    super('ERR_INFERENCE', message, context);
  }
}

/** Downloading from or resolving against the Hugging Face Hub failed. */
export class HubError extends SeqbatchError {
  constructor(message: string, context: ErrorContext = {}) {
    super('ERR_HUB', message, context);
  }
}

/** Truncation could not respect the requested max length (mirrors the Rust core's truncation error). */
export class TruncationError extends SeqbatchError {
  constructor(message: string, context: ErrorContext = {}) {
    super('ERR_TRUNCATION', message, context);
  }
}

/** The job queue could not be used: Redis unreachable, or a job missing or not in the state asked for. */
export class QueueError extends SeqbatchError {
  constructor(message: string, context: ErrorContext = {}) {
    super('ERR_QUEUE', message, context);
  }
}
