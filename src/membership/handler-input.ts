/**
 * Serf's event-handler stdin → members (pure). One line per member: NAME\tADDR\tROLE\tTAGS, where
 * TAGS is `k=v,k2=v2`. Serf escapes only TAB and LF (as `\t`, `\n`) and leaves CR, NUL and the rest
 * raw, so lines are split on LF only and every value is validated later like any
 * other member's.
 */
import { statusByEvent, type Member } from './member.js';

export function isMemberEvent(event: string): boolean {
  return event in statusByEvent;
}

export function parseHandlerInput(text: string, event: string): Member[] {
  const status = statusByEvent[event];
  if (status === undefined) return [];
  return text
    .split('\n')
    .filter((line) => line !== '')
    .map((line) => {
      const [name = '', address = '', , tagText = ''] = line.split('\t');
      const tags: Record<string, string> = {};
      for (const pair of tagText.split(',')) {
        const at = pair.indexOf('=');
        if (at > 0) tags[pair.slice(0, at)] = pair.slice(at + 1);
      }
      return { name, address, tags, status };
    });
}
