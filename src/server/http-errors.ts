/**
 * Every error the server sends has one JSON body per API dialect, whatever produced it (schema validation, body
 * limits, a full queue, shutdown, or an engine failure):
 * - the text-embeddings-inference routes (`config: { errors: 'tei' }`): `{"error": string, "error_type": string}`,
 *   with TEI's error types (Empty, Validation, Tokenizer, Backend, Overloaded, Unhealthy);
 * - every other route (OpenAI's /v1/embeddings, /classify, /health, ...): `{"error": {"message", "type"}}`, the
 *   OpenAI error shape.
 */
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { SeqbatchError } from '../errors.js';
import { OrtHaltedError } from '../runtime/ort-thread.js';
import { QueueFullError } from './batcher.js';

export type ApiErrorType =
  | 'invalid_request_error'
  | 'not_found_error'
  | 'unsupported_task_error'
  | 'empty_error'
  | 'overloaded_error'
  | 'unavailable_error'
  | 'internal_error';

/** text-embeddings-inference's `error_type` values, as its router serialises them. */
export type TeiErrorType = 'Empty' | 'Validation' | 'Tokenizer' | 'Backend' | 'Overloaded' | 'Unhealthy';

/** Which error body a route answers with. */
export type ErrorDialect = 'openai' | 'tei';

declare module 'fastify' {
  interface FastifyContextConfig {
    /** The error body of the route (default 'openai'). */
    errors?: ErrorDialect;
  }
}

export class ApiError extends Error {
  constructor(
    readonly statusCode: number,
    readonly type: ApiErrorType,
    message: string,
    readonly headers: Record<string, string> = {},
    /** TEI's error type, when the status alone does not say it (see `teiErrorType`). */
    readonly teiType?: TeiErrorType,
  ) {
    super(message);
    this.name = 'ApiError';
  }
}

export interface ErrorBody {
  error: { message: string; type: ApiErrorType };
}

export function errorBody(type: ApiErrorType, message: string): ErrorBody {
  return { error: { message, type } };
}

/** Maps anything thrown while handling a request to a status, headers and the JSON error body. */
export function toApiError(error: unknown): ApiError {
  if (error instanceof ApiError) return error;
  // A batch failure wraps the engine's error as its cause.
  if (
    error instanceof OrtHaltedError ||
    (error as { cause?: unknown } | null)?.cause instanceof OrtHaltedError
  ) {
    return new ApiError(
      503,
      'unavailable_error',
      'server stopped at once (second signal) before running this input',
    );
  }
  if (error instanceof QueueFullError) {
    return new ApiError(429, 'overloaded_error', error.message, {
      'retry-after': String(error.retryAfterSeconds),
    });
  }
  if (error instanceof SeqbatchError && error.code === 'ERR_INPUT') {
    return new ApiError(422, 'invalid_request_error', error.message);
  }
  const fastifyError = error as Partial<FastifyError>;
  if (fastifyError.validation) {
    return new ApiError(400, 'invalid_request_error', `invalid request: ${fastifyError.message}`);
  }
  const status = fastifyError.statusCode;
  if (typeof status === 'number' && status >= 400 && status < 500) {
    return new ApiError(status, 'invalid_request_error', fastifyError.message ?? 'invalid request');
  }
  return new ApiError(500, 'internal_error', error instanceof Error ? error.message : String(error));
}

/**
 * TEI's error type for an error: 400 is Empty for an empty batch and Validation otherwise, 413 Validation (too many
 * inputs, an input too long), 422 Tokenizer (the tokenizer or the engine refused an input), 424 and 500 Backend,
 * 429 Overloaded, 503 Unhealthy.
 */
export function teiErrorType(error: ApiError): TeiErrorType {
  if (error.teiType) return error.teiType;
  if (error.type === 'empty_error') return 'Empty';
  switch (error.statusCode) {
    case 422:
      return 'Tokenizer';
    case 424:
    case 500:
      return 'Backend';
    case 429:
      return 'Overloaded';
    case 503:
      return 'Unhealthy';
    default:
      return 'Validation';
  }
}

export function sendApiError(
  reply: FastifyReply,
  error: ApiError,
  dialect: ErrorDialect = 'openai',
): FastifyReply {
  const body =
    dialect === 'tei'
      ? { error: error.message, error_type: teiErrorType(error) }
      : errorBody(error.type, error.message);
  return reply.code(error.statusCode).headers(error.headers).send(body);
}

/** The error dialect of the route a request matched. */
export function errorDialect(request: FastifyRequest): ErrorDialect {
  return request.routeOptions.config?.errors ?? 'openai';
}

export function errorHandler(error: unknown, request: FastifyRequest, reply: FastifyReply): FastifyReply {
  const apiError = toApiError(error);
  if (apiError.statusCode >= 500) request.log.error({ err: error }, 'request failed');
  return sendApiError(reply, apiError, errorDialect(request));
}
