/**
 * HTTP health checks as HAProxy runs them (pure): a failed check's result (`show stat`'s check_status,
 * check_code and check_desc) in words a user can act on, the check a rendered config declares for each
 * backend, and whether an answer would pass it.
 */

/** One check result, as `show stat` reports it. */
export interface CheckResult {
  /** L7OK, L7STS, L4CON, L4TOUT, L7TOUT, L7RSP, L6…, INI, or '' (never ran). */
  status: string;
  /** The HTTP status for L7 results ('' otherwise). */
  code: string;
  description: string;
}

/** What a failed check was asking, to name it. */
export interface CheckTarget {
  path: string;
  /** `ADDR:PORT` the check connects to. */
  endpoint: string;
  /** The setting that sets the path: `--health-path`, or a service's `health=`. */
  pathSetting: string;
}

export interface CheckFailure {
  /** e.g. `L7STS 404`. */
  check: string;
  /** e.g. `404 on /health: is --health-path right?` */
  message: string;
}

/**
 * A check that passed, or has not run yet: nothing to report. A wrong-status result with no HTTP status
 * (`L7STS` with code 0, as `show stat` reports a server re-added a moment ago) is not one yet either.
 */
export function checkPassedOrPending(result: CheckResult): boolean {
  const noStatusYet = result.status === 'L7STS' && (result.code === '' || result.code === '0');
  return result.status === '' || result.status === 'INI' || result.status.endsWith('OK') || noStatusYet;
}

/** A failed check's result in words: which path answered what, or why nothing answered, and what to look at. */
export function describeCheckFailure(result: CheckResult, target: CheckTarget): CheckFailure {
  const check = [result.status, result.code].filter((part) => part !== '').join(' ');
  const { path, endpoint, pathSetting } = target;
  const message = ((): string => {
    switch (result.status) {
      case 'L7STS': {
        const code = Number(result.code);
        if (code >= 500) return `${result.code} on ${path}: the app answers its health path with an error (is it ready?)`;
        return `${result.code} on ${path}: is ${pathSetting} right?`;
      }
      case 'L4CON':
        return `connection refused at ${endpoint}: is the app listening on that port (Serf tag port, --default-port)?`;
      case 'L4TOUT':
        return `no connection to ${endpoint} within the check timeout: is the address reachable from HAProxy?`;
      case 'L7TOUT':
        return `no answer on ${path} within the check timeout: the app took the connection but did not answer`;
      case 'L7RSP':
        return `not an HTTP answer on ${path}: is an HTTP server on ${endpoint}?`;
      default:
        return `${check || 'failed'} (${result.description || 'no description'}) on ${path} at ${endpoint}`;
    }
  })();
  return { check, message };
}

/** The HTTP check a backend declares (`option httpchk`, `http-check send`, `http-check expect status`). */
export interface HttpCheck {
  method: string;
  path: string;
  /** `http-check expect status …` as HAProxy reads it; undefined: 2xx and 3xx pass. */
  expect: { codes: readonly (readonly [number, number])[]; negate: boolean; text: string } | undefined;
}

/** A backend whose check cannot be judged here (not HTTP, or an `expect` this does not model): say why. */
export type DeclaredCheck = HttpCheck | { unsupported: string };

/**
 * Each backend's HTTP check in a config's text. A `defaults` section's check applies to the backends after it;
 * a backend without `option httpchk` has none (TCP checks), and an `http-check expect` other than `status`
 * cannot be judged without the app's body.
 */
export function declaredChecks(config: string): Map<string, DeclaredCheck> {
  const checks = new Map<string, DeclaredCheck>();
  let defaults: DeclaredCheck | undefined;
  let section: { kind: string; name: string; check: DeclaredCheck | undefined } | undefined;
  const close = () => {
    if (section?.kind === 'defaults') defaults = section.check;
    else if (section?.kind === 'backend' || section?.kind === 'listen') {
      checks.set(section.name, section.check ?? { unsupported: 'no option httpchk (TCP checks)' });
    }
  };
  for (const raw of config.split('\n')) {
    const line = raw.replace(/#.*$/, '').trim();
    if (line === '') continue;
    const words = line.split(/\s+/);
    const [first = '', second = ''] = words;
    if (/^\S/.test(raw) && ['global', 'defaults', 'frontend', 'backend', 'listen', 'peers', 'resolvers', 'userlist'].includes(first)) {
      close();
      section = { kind: first, name: second, check: first === 'backend' || first === 'listen' ? defaults : undefined };
      continue;
    }
    if (!section || !['defaults', 'backend', 'listen'].includes(section.kind)) continue;
    section.check = checkLine(words, section.check);
  }
  close();
  return checks;
}

function checkLine(words: readonly string[], check: DeclaredCheck | undefined): DeclaredCheck | undefined {
  const [a, b, ...rest] = words;
  if (a === 'option' && b === 'httpchk') {
    // `option httpchk`, `option httpchk URI`, `option httpchk METHOD URI [VERSION]`.
    const [method, path] = rest.length >= 2 ? [rest[0], rest[1]] : ['OPTIONS', rest[0] ?? '/'];
    return { method: method as string, path: path as string, expect: undefined };
  }
  if (a === 'no' && b === 'option' && rest[0] === 'httpchk') return undefined;
  if (a !== 'http-check' || check === undefined || 'unsupported' in check) return check;
  if (b === 'send') {
    const at = (key: string) => (rest.indexOf(key) >= 0 ? rest[rest.indexOf(key) + 1] : undefined);
    return { ...check, method: at('meth') ?? check.method, path: at('uri') ?? check.path };
  }
  if (b === 'expect') {
    const negate = rest[0] === '!';
    const [kind, pattern] = negate ? rest.slice(1) : rest;
    const codes = kind === 'status' ? statusCodes(pattern ?? '') : undefined;
    if (!codes) return { unsupported: `http-check expect ${rest.join(' ')} (only 'status' is judged here)` };
    return { ...check, expect: { codes, negate, text: `${negate ? '! ' : ''}status ${pattern}` } };
  }
  return check;
}

/** `200`, `200,204`, `200-399` → ranges; undefined when it is none of these. */
function statusCodes(pattern: string): [number, number][] | undefined {
  const ranges = pattern.split(',').map((part) => /^(\d{3})(?:-(\d{3}))?$/.exec(part));
  if (ranges.some((m) => m === null)) return undefined;
  return ranges.map((m) => [Number(m![1]), Number(m![2] ?? m![1])]);
}

/** Whether an answer with this status passes the check. */
export function passes(check: HttpCheck, status: number): boolean {
  if (check.expect === undefined) return status >= 200 && status < 400;
  const inside = check.expect.codes.some(([low, high]) => status >= low && status <= high);
  return inside !== check.expect.negate;
}

/** `GET /health expecting status 200`, for messages. */
export function describeHttpCheck(check: HttpCheck): string {
  return `${check.method} ${check.path} expecting ${check.expect?.text ?? 'a 2xx or 3xx status'}`;
}
