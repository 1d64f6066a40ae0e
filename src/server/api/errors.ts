// JSON errors: `{"error": {"code", "reason", "message"}}`. A user's mistake is a 4xx that says what
// to fix; only a fault of ours is a 500.
import type { FastifyError, FastifyInstance, FastifyReply } from 'fastify';
import { ApiError } from '../../runtime/kube-client.ts';

export interface ErrorBody {
  error: { code: number; reason: string; message: string; fields?: string[] };
}

export class HttpError extends Error {
  readonly code: number;
  readonly reason: string;
  readonly fields: string[] | undefined;
  constructor(code: number, reason: string, message: string, fields?: string[]) {
    super(message);
    this.code = code;
    this.reason = reason;
    this.fields = fields;
  }
}

export const badRequest = (message: string, fields?: string[]) =>
  new HttpError(400, 'BadRequest', message, fields);
export const notFound = (reason: string, message: string) => new HttpError(404, reason, message);

export function errorBody(e: HttpError): ErrorBody {
  return {
    error: { code: e.code, reason: e.reason, message: e.message, ...(e.fields ? { fields: e.fields } : {}) },
  };
}

export function sendError(reply: FastifyReply, e: HttpError): FastifyReply {
  return reply.code(e.code).type('application/json').send(errorBody(e));
}

const CAMEL: Record<number, string> = {
  400: 'BadRequest',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'NotFound',
  405: 'MethodNotAllowed',
  406: 'NotAcceptable',
  409: 'Conflict',
  413: 'PayloadTooLarge',
  415: 'UnsupportedMediaType',
  422: 'Invalid',
};

/** Turns whatever a handler threw into an HttpError. */
export function toHttpError(e: unknown): HttpError {
  if (e instanceof HttpError) return e;
  if (e instanceof ApiError) {
    // The API server's answer to our request: its 4xx are about the request (a missing preview, a
    // conflict, an invalid field), its 5xx are the cluster's trouble.
    if (e.code >= 400 && e.code < 500 && e.code !== 401 && e.code !== 403)
      return new HttpError(e.code, e.reason || CAMEL[e.code] || 'BadRequest', e.message);
    return new HttpError(502, 'ApiServerError', `the Kubernetes API server answered ${e.code}: ${e.message}`);
  }
  const fe = e as Partial<FastifyError>;
  if (typeof fe.statusCode === 'number' && fe.statusCode >= 400 && fe.statusCode < 500) {
    if (fe.code === 'FST_ERR_CTP_BODY_TOO_LARGE')
      return new HttpError(413, 'PayloadTooLarge', 'the body is over the limit (1 MiB)');
    if (fe.code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE')
      return new HttpError(
        415,
        'UnsupportedMediaType',
        'send the body as JSON, with Content-Type: application/json',
      );
    const message =
      fe.code === 'FST_ERR_CTP_INVALID_JSON_BODY' ? `the body is not valid JSON: ${fe.message}` : fe.message;
    return new HttpError(fe.statusCode, CAMEL[fe.statusCode] ?? 'BadRequest', message ?? 'bad request');
  }
  return new HttpError(500, 'InternalError', 'internal error (see the server log)');
}

export function installErrorHandlers(app: FastifyInstance): void {
  app.setErrorHandler((e, request, reply) => {
    const err = toHttpError(e);
    if (err.code >= 500) request.log.error({ err: e, url: request.url }, 'request failed');
    if (reply.sent || reply.raw.headersSent) return;
    sendError(reply, err);
  });
  app.setNotFoundHandler((request, reply) => {
    sendError(
      reply,
      new HttpError(
        404,
        'NotFound',
        `no route ${request.method} ${request.url.split('?')[0]} (see /api/v1/openapi.json)`,
      ),
    );
  });
}
