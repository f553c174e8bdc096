/** Reading HAProxy's httplog lines (the template logs every request to stdout) for a failure's diagnosis. */

/** A request not answered 200, or whose session ended abnormally (a 200 cut short is `SD`, not `--`). */
export function unusualRequest(line: string): boolean {
  const fields = / \S+\/\S+ \S+ (\d{3}) \S+ \S+ \S+ (\S\S)\S\S /.exec(line);
  return fields !== null && (fields[1] !== '200' || fields[2] !== '--');
}

/** What HAProxy and the agent said that explains failed requests: unusual requests, servers going DOWN or UP, the agent's warnings. */
export function failureContext(output: string, limit = 40): string[] {
  return output
    .split('\n')
    .filter((line) => unusualRequest(line) || /is DOWN|is UP|NOSRV|no server available|"level":"(warn|error)"/.test(line))
    .slice(0, limit);
}
