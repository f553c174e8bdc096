/**
 * Pads the columns of a Runtime API answer that is a table (`show servers state`, `show stat`,
 * `show servers conn`…): a `# name name …` header (space- or comma-separated) and rows with about as
 * many fields. Any other answer comes back unchanged. Pure: used by the interactive `exec` session.
 */
const headerField = /^[\w[\]/().-]+$/;

export function alignTable(answer: string): string {
  const lines = answer.replace(/\n+$/, '').split('\n');
  const at = lines.findIndex((line) => line.startsWith('# '));
  if (at === -1) return answer;
  const headerText = lines[at]!.slice(2);
  const separator = headerText.includes(',') && !headerText.includes(' ') ? ',' : ' ';
  const split = (line: string) => {
    const fields = line.split(separator);
    // `show stat` ends every line with a comma.
    return separator === ',' && fields.at(-1) === '' ? fields.slice(0, -1) : fields;
  };
  const header = split(headerText);
  const rows = lines
    .slice(at + 1)
    .filter((line) => line !== '')
    .map(split);
  const table = header.length >= 2 && header.every((name) => headerField.test(name));
  // `show servers conn` prints per-thread columns under one header name, and dynamic servers print fewer.
  if (!table || rows.some((row) => Math.abs(row.length - header.length) > 2)) return answer;
  const widths: number[] = [];
  for (const row of [header, ...rows]) row.forEach((cell, i) => (widths[i] = Math.max(widths[i] ?? 0, cell.length)));
  const pad = (row: string[]) => row.map((cell, i) => (i === row.length - 1 ? cell : cell.padEnd(widths[i] ?? 0))).join('  ');
  return [...lines.slice(0, at), `# ${pad(header)}`, ...rows.map((row) => `  ${pad(row)}`)].join('\n') + '\n';
}
