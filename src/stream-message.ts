import { asRecord, decodeInt } from './codec.ts';
import { errorFromStatus } from './errors.ts';
import type { WireObject } from './transport.ts';

/**
 * The `result` of one line of a gateway stream (`{"result": ...}`), or the typed error a
 * `{"error": {grpc_code, http_code, message}}` line carries.
 */
export function streamResult(line: unknown, endpoint: string, path: string): WireObject {
  const message = asRecord(line, `message of ${path}`);
  if (message.error !== undefined) {
    const error = asRecord(message.error, `error of ${path}`);
    const code = decodeInt(error.grpc_code ?? error.code, 'grpc_code');
    const status = error.http_code === undefined ? undefined : decodeInt(error.http_code, 'http_code');
    const text = typeof error.message === 'string' ? error.message : `gRPC code ${code}`;
    throw errorFromStatus(code, text, { status, endpoint, path });
  }
  return asRecord(message.result ?? {}, `result of ${path}`);
}
