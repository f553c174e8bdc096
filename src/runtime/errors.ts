/** Every failure of the Runtime API client by its stable code, with what the code means. */
export const runtimeErrorCodes = {
  RUNTIME_INVALID_ARGUMENT: 'a value was refused before anything was sent (name, address, port, weight…)',
  RUNTIME_INVALID_URL: 'the --runtime address is not tcp://HOST:PORT or unix:///PATH',
  RUNTIME_COMMAND_TOO_LONG: 'the command is over the length HAProxy answers (about 15 KB); nothing was sent',
  RUNTIME_CONNECT_FAILED: 'the stats socket refused the connection or does not exist',
  RUNTIME_CONNECT_TIMEOUT: 'the stats socket did not accept the connection in time',
  RUNTIME_RESPONSE_TIMEOUT: 'HAProxy did not answer in time; the connection was dropped (nothing is replayed)',
  RUNTIME_DISCONNECTED: 'there is no connection to HAProxy right now; the command was not sent',
  RUNTIME_PROTOCOL: 'HAProxy sent bytes that do not frame as prompt-mode answers; the connection was dropped',
  RUNTIME_PERMISSION_DENIED: 'the socket is not at level admin',
  RUNTIME_NO_SUCH_BACKEND: 'HAProxy has no such backend',
  RUNTIME_NO_SUCH_SERVER: 'HAProxy has no such server',
  RUNTIME_SERVER_EXISTS: 'a server with that name already exists in the backend',
  RUNTIME_SERVER_NOT_IN_MAINT: 'only servers in maintenance can be deleted',
  RUNTIME_SERVER_HAS_CONNECTIONS: 'the server still has connections; retry after they end',
  RUNTIME_SERVER_REFERENCED: 'other configuration points at the server, so it cannot be deleted',
  RUNTIME_BACKEND_NOT_DYNAMIC: 'the backend balance algorithm refuses dynamic servers',
  RUNTIME_HEALTH_NOT_CONFIGURED: 'the server has no health check configured',
  RUNTIME_AGENT_NOT_CONFIGURED: 'the server has no agent check configured (add it with agent-check)',
  RUNTIME_AGENT_NOT_ENABLED: 'the agent check is not running on the server (enable agent first)',
  RUNTIME_NO_SUCH_MAP: 'HAProxy has no map with that file or #id',
  RUNTIME_NO_SUCH_ACL: 'HAProxy has no ACL pattern list with that file or #id',
  RUNTIME_NO_SUCH_ENTRY: 'the map or ACL has no entry with that key or reference',
  RUNTIME_NO_SUCH_TABLE: 'HAProxy has no stick table with that name',
  RUNTIME_UNKNOWN_COMMAND: 'HAProxy does not know the command',
  RUNTIME_COMMAND_REJECTED: 'HAProxy refused the command (see the answer)',
  RUNTIME_PARSE: 'an answer could not be parsed as the expected table',
} as const;

/** A stable code: switch on it, never on the message. */
export type RuntimeErrorCode = keyof typeof runtimeErrorCodes;

export interface RuntimeErrorDetails {
  address?: string;
  command?: string;
  answer?: string;
  cause?: unknown;
}

/** Every failure of the Runtime API client: a stable code, the address, the command and HAProxy's answer. */
export class RuntimeError extends Error {
  readonly code: RuntimeErrorCode;
  /** The Runtime API URL, when a connection was involved. */
  readonly address: string | undefined;
  /** The command line, when one was built or sent. */
  readonly command: string | undefined;
  /** HAProxy's answer, when it refused the command. */
  readonly answer: string | undefined;

  constructor(code: RuntimeErrorCode, message: string, details: RuntimeErrorDetails = {}) {
    super(message, details.cause === undefined ? undefined : { cause: details.cause });
    this.name = 'RuntimeError';
    this.code = code;
    this.address = details.address;
    this.command = details.command;
    this.answer = details.answer;
  }
}
