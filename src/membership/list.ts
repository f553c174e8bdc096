/** One member list from a Serf agent for the one-shot commands (plan, handle): connect, list, close. */
import { toMember, type Member } from './member.js';
import { SerfRpcClient, type SerfRpcOptions } from './rpc-client.js';

/** Records that are not in a member's shape are left out. */
export async function listMembers(options: SerfRpcOptions): Promise<Member[]> {
  const rpc = await SerfRpcClient.connect(options);
  try {
    return (await rpc.members()).map(toMember).filter((m): m is Member => m !== undefined);
  } finally {
    rpc.close();
  }
}
