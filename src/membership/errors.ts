/** Failures talking to the local Serf agent, with stable codes. */
export const serfErrorCodes = {
  SERF_CONNECT_FAILED: 'the Serf agent refused the RPC connection (is it running, is --serf right?)',
  SERF_TIMEOUT: 'the Serf agent did not answer an RPC request in time',
  SERF_DISCONNECTED: 'the RPC connection to the Serf agent closed',
  SERF_AUTH_FAILED: 'the Serf agent refused the RPC auth token (--serf-auth)',
  SERF_COMMAND_FAILED: 'the Serf agent answered an RPC request with an error',
  SERF_PROTOCOL: 'the Serf agent sent bytes that are not a valid RPC exchange; the connection was dropped',
  SERF_INVALID_ADDRESS: 'the --serf address is not HOST:PORT',
} as const;

export type SerfErrorCode = keyof typeof serfErrorCodes;

export class SerfError extends Error {
  readonly code: SerfErrorCode;
  readonly address: string | undefined;
  readonly command: string | undefined;

  constructor(code: SerfErrorCode, message: string, details: { address?: string; command?: string; cause?: unknown } = {}) {
    super(message, details.cause === undefined ? undefined : { cause: details.cause });
    this.name = 'SerfError';
    this.code = code;
    this.address = details.address;
    this.command = details.command;
  }
}
