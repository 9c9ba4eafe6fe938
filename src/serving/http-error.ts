// Errors that become V2 error responses: `{"error": "..."}` with a status
// code, and a short `reason` that labels fluxora_inference_errors_total.

export type ErrorReason =
  | 'invalid_request'
  | 'not_found'
  | 'method_not_allowed'
  | 'payload_too_large'
  | 'unsupported_media_type'
  | 'unauthorized'
  | 'not_ready'
  | 'no_token'
  | 'inference'
  | 'internal';

export class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly reason: ErrorReason,
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
    this.name = 'HttpError';
  }
}

export const badRequest = (message: string) => new HttpError(400, message, 'invalid_request');
export const notFound = (message: string) => new HttpError(404, message, 'not_found');
