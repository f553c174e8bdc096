/** Judges HAProxy's answer to one command: success, or a RuntimeError with a stable code. */
import type { Command } from './commands.js';
import { RuntimeError, type RuntimeErrorCode } from './errors.js';

/** HAProxy's error texts (2.6 and 3.0) by prefix. */
const knownErrors: ReadonlyArray<readonly [string, RuntimeErrorCode]> = [
  ['Permission denied', 'RUNTIME_PERMISSION_DENIED'],
  ['No such backend', 'RUNTIME_NO_SUCH_BACKEND'],
  ["Can't find backend", 'RUNTIME_NO_SUCH_BACKEND'],
  ['No such proxy', 'RUNTIME_NO_SUCH_BACKEND'],
  ['No such server', 'RUNTIME_NO_SUCH_SERVER'],
  ['Already exists a server', 'RUNTIME_SERVER_EXISTS'],
  ['Only servers in maintenance mode', 'RUNTIME_SERVER_NOT_IN_MAINT'],
  ['Server still has connections', 'RUNTIME_SERVER_HAS_CONNECTIONS'],
  ['This server cannot be removed', 'RUNTIME_SERVER_REFERENCED'],
  ['Backend must use a dynamic', 'RUNTIME_BACKEND_NOT_DYNAMIC'],
  ['Health check was not configured', 'RUNTIME_HEALTH_NOT_CONFIGURED'],
  ['Agent was not configured', 'RUNTIME_AGENT_NOT_CONFIGURED'],
  ['agent checks are not enabled', 'RUNTIME_AGENT_NOT_ENABLED'],
  ['Unknown map identifier', 'RUNTIME_NO_SUCH_MAP'],
  ['Unknown ACL identifier', 'RUNTIME_NO_SUCH_ACL'],
  ['entry not found', 'RUNTIME_NO_SUCH_ENTRY'],
  ['Key not found', 'RUNTIME_NO_SUCH_ENTRY'],
  ['No such table', 'RUNTIME_NO_SUCH_TABLE'],
  ['Unknown command', 'RUNTIME_UNKNOWN_COMMAND'],
  ['The following commands are valid', 'RUNTIME_UNKNOWN_COMMAND'],
];

/** Answers to `set server … addr` that mean the change was made (or was not needed). */
const addrAccepted = /^(IP changed from|no need to change the addr, (no need to change the port|port changed from))/;

export function classifyError(answer: string): RuntimeErrorCode | undefined {
  const text = answer.trimStart();
  for (const [prefix, code] of knownErrors) if (text.startsWith(prefix)) return code;
  return undefined;
}

/** Returns the answer without trailing newlines, or throws the matching RuntimeError. */
export function checkAnswer(command: Command, answer: string, address?: string): string {
  const text = answer.replace(/\n+$/, '');
  const reject = (code: RuntimeErrorCode): never => {
    throw new RuntimeError(code, `HAProxy refused '${command.text}': ${text.split('\n')[0] ?? ''}`, {
      address,
      command: command.text,
      answer: text,
    });
  };
  const expect = command.expect;
  switch (expect.kind) {
    case 'raw':
      return answer;
    case 'empty':
      return text.trim() === '' ? text : reject(classifyError(text) ?? 'RUNTIME_COMMAND_REJECTED');
    case 'exact':
      return text.trim() === expect.text ? text : reject(classifyError(text) ?? 'RUNTIME_COMMAND_REJECTED');
    case 'addr':
      return addrAccepted.test(text) ? text : reject(classifyError(text) ?? 'RUNTIME_COMMAND_REJECTED');
    case 'read': {
      const code = classifyError(text);
      if (code !== undefined) return reject(code);
      // A dump with a known first line: any other text is HAProxy explaining a refusal.
      return expect.starts === undefined || text === '' || text.startsWith(expect.starts) ? text : reject('RUNTIME_COMMAND_REJECTED');
    }
  }
}
