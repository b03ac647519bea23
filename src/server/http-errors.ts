/**
 * Every error the server sends has the body `{"error": {"message": string, "type": string}}` (the OpenAI error
 * shape), whatever produced it: schema validation, body limits, a full queue, shutdown, or an engine failure.
 */
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { SeqbatchError } from '../errors.js';
import { OrtHaltedError } from '../runtime/ort-thread.js';
import { QueueFullError } from './batcher.js';

export type ApiErrorType =
  | 'invalid_request_error'
  | 'not_found_error'
  | 'unsupported_task_error'
  | 'overloaded_error'
  | 'unavailable_error'
  | 'internal_error';

export class ApiError extends Error {
  constructor(
    readonly statusCode: number,
    readonly type: ApiErrorType,
    message: string,
    readonly headers: Record<string, string> = {},
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

export function sendApiError(reply: FastifyReply, error: ApiError): FastifyReply {
  return reply.code(error.statusCode).headers(error.headers).send(errorBody(error.type, error.message));
}

export function errorHandler(error: unknown, request: FastifyRequest, reply: FastifyReply): FastifyReply {
  const apiError = toApiError(error);
  if (apiError.statusCode >= 500) request.log.error({ err: error }, 'request failed');
  return sendApiError(reply, apiError);
}
