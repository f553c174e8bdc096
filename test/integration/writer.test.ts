/** The config writer with the real `haproxy -c`: valid configs replace the file atomically, invalid ones never do. */
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { createLogger } from '../../src/log.js';
import { defaultServerPolicy } from '../../src/model/server.js';
import { compileTemplate } from '../../src/render/compile.js';
import type { ConfigModel } from '../../src/render/template.js';
import { ConfigWriter } from '../../src/render/writer.js';
import { templatePath } from '../helpers/haproxy.js';

const base: Omit<ConfigModel, 'servers'> = {
  runtime: { tcp: '127.0.0.1:9999' },
  frontend: { bind: '127.0.0.1:8080' },
  backend: { name: 'nodes', balance: 'roundrobin', healthPath: '/health' },
  policy: defaultServerPolicy,
};
const web1 = { name: 'web-1', address: '127.0.0.2', port: 3000, weight: 100 };

function setup(template = readFileSync(templatePath, 'utf8')) {
  const dir = mkdtempSync(path.join(tmpdir(), 'ha-agent-writer-'));
  const outPath = path.join(dir, 'haproxy.cfg');
  const lines: Array<Record<string, unknown>> = [];
  const log = createLogger({ write: (line) => lines.push(JSON.parse(line) as Record<string, unknown>) });
  return { dir, outPath, lines, writer: new ConfigWriter({ render: compileTemplate(template), base, outPath, log }) };
}

describe('ConfigWriter', () => {
  it('writes a validated config once, and skips an unchanged one', async () => {
    const { outPath, writer, lines, dir } = setup();
    expect(await writer.write([web1])).toBe('written');
    expect(readFileSync(outPath, 'utf8')).toContain('server web-1 127.0.0.2:3000 check');
    expect(await writer.write([web1])).toBe('unchanged');
    expect(lines.filter((l) => l.event === 'config.written')).toHaveLength(1);
    expect(readdirSync(dir)).toEqual(['haproxy.cfg']); // no temporary file left behind
  });

  it('writes asked for before the waiting one starts share it: one write, with the latest servers', async () => {
    const { outPath, writer, lines } = setup();
    const web = (n: number) => ({ ...web1, name: `web-${n}`, address: `127.0.0.${n + 1}` });
    const first = writer.write([web(1)]);
    const second = writer.write([web(1), web(2)]);
    const third = writer.write([web(1), web(2), web(3)]);
    expect(second).toBe(first);
    expect(third).toBe(first);
    expect(await first).toBe('written');
    expect(readFileSync(outPath, 'utf8')).toContain('server web-3 127.0.0.4:3000 check');
    expect(await writer.write([web(1)])).toBe('written'); // asked for after: a write of its own
    expect(lines.filter((l) => l.event === 'config.written').map((l) => l.servers)).toEqual([3, 1]);
  });

  it("keeps the previous file and logs HAProxy's alert when validation fails", async () => {
    const broken = readFileSync(templatePath, 'utf8').replace('balance {{balance}}', 'balance {{balance}}\n    frobnicate yes');
    const { outPath, writer, lines } = setup(broken);
    writeFileSync(outPath, 'previous\n');
    expect(await writer.write([web1])).toBe('invalid');
    expect(readFileSync(outPath, 'utf8')).toBe('previous\n');
    expect(lines.find((l) => l.event === 'config.invalid')?.alert).toMatch(/frobnicate/);
  });

  it('keeps the previous file when the target cannot be written, and says so', async () => {
    const { outPath, writer, lines, dir } = setup();
    writeFileSync(outPath, 'previous\n');
    // Tests run as root, which ignores permission bits: a target below a regular file cannot be written either.
    const log = createLogger({ write: (l) => lines.push(JSON.parse(l) as Record<string, unknown>) });
    const blocked = new ConfigWriter({
      render: compileTemplate(readFileSync(templatePath, 'utf8')),
      base,
      outPath: path.join(outPath, 'x.cfg'),
      log,
    });
    expect(await blocked.write([web1])).toBe('failed');
    expect(readFileSync(outPath, 'utf8')).toBe('previous\n');
    expect(readdirSync(dir)).toEqual(['haproxy.cfg']);
    expect(lines.some((l) => l.event === 'config.write-failed')).toBe(true);
    expect(await writer.write([web1])).toBe('written');
  });
});
