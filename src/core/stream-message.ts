import type { WireObject } from './call-options.ts';
import { asRecord } from './codec.ts';
import { type EtcdError, errorFromStatus, GrpcCode } from './errors.ts';

/**
 * The `result` of one line of a gateway stream (`{"result": ...}`), or the typed error a
 * `{"error": {grpc_code, http_code, message}}` line carries.
 */
export function streamResult(line: unknown, endpoint: string, path: string): WireObject {
  const message = asRecord(line, `message of ${path}`);
  if (message.error !== undefined) throw streamError(message.error, endpoint, path);
  return asRecord(message.result ?? {}, `result of ${path}`);
}

/**
 * The typed error of a stream's `{"error": {grpc_code, http_code, message}}` line (its shape
 * differs from a unary error's); an unexpected shape still gives an error, of code UNKNOWN.
 */
export function streamError(wire: unknown, endpoint: string | undefined, path: string): EtcdError {
  const error =
    typeof wire === 'object' && wire !== null ? (wire as Record<string, unknown>) : { message: String(wire) };
  const code =
    typeof error.grpc_code === 'number'
      ? error.grpc_code
      : typeof error.code === 'number'
        ? error.code
        : GrpcCode.UNKNOWN;
  const message = typeof error.message === 'string' ? error.message : `stream error (gRPC code ${code})`;
  const status = typeof error.http_code === 'number' ? error.http_code : undefined;
  return errorFromStatus(code, message, { status, endpoint, path });
}
