import { describe, expect, it } from 'vitest';
import { parseInvocation } from '../src/args.js';
import { COMMANDS } from '../src/cli.js';
import { UsageError } from '../src/command.js';
import { Output, type OutputStream } from '../src/output.js';

class Sink implements OutputStream {
  text = '';
  constructor(
    readonly isTTY: boolean,
    readonly columns = 100,
  ) {}
  write(chunk: string): boolean {
    this.text += chunk;
    return true;
  }
}

function output(tty: boolean, json = false): { out: Output; stdout: Sink; stderr: Sink } {
  const stdout = new Sink(tty);
  const stderr = new Sink(false);
  return { out: new Output({ stdout, stderr }, { json, env: { NO_COLOR: '1' } }), stdout, stderr };
}

describe('output', () => {
  it('redraws one progress line with \\r on a terminal and clears it when done', () => {
    const { out, stdout } = output(true);
    const bar = out.progress(4);
    bar.update(1, 'acme migrated (2 migrations, 35 ms)');
    bar.update(2, 'globex failed', '1 failed');
    bar.finish();
    expect(stdout.text).not.toContain('\n');
    expect(stdout.text.split('\r\u001b[2K')).toEqual([
      '',
      '[########----------------------] 1/4 · acme migrated (2 migrations, 35 ms)',
      '[###############---------------] 2/4 · 1 failed · globex failed',
      '',
    ]);
  });

  it('prints plain [done/total] lines when stdout is not a terminal', () => {
    const { out, stdout } = output(false);
    const bar = out.progress(12);
    bar.update(3, 'acme migrated (2 migrations, 35 ms)');
    bar.finish();
    expect(stdout.text).toBe('[ 3/12] acme migrated (2 migrations, 35 ms)\n');
  });

  it('in JSON mode keeps stdout to one document: human lines and progress go to stderr', () => {
    const { out, stdout, stderr } = output(true, true);
    out.print('hello');
    out.progress(1).update(1, 'acme up to date');
    out.result({ ok: true, at: new Date(0), error: Object.assign(new Error('boom'), { code: '22012' }) }, () => out.print('not shown'));
    expect(JSON.parse(stdout.text)).toEqual({
      ok: true,
      at: '1970-01-01T00:00:00.000Z',
      error: { name: 'Error', code: '22012', message: 'boom' },
    });
    expect(stderr.text).toBe('hello\n[1/1] acme up to date\n');
  });

  it('aligns tables and cuts long cells', () => {
    const { out, stdout } = output(false);
    out.table(
      [{ header: 'tenant' }, { header: 'duration', align: 'right' }, { header: 'error', max: 10 }],
      [
        ['acme', '5 ms', ''],
        ['globex', '1.2 s', 'a very long error message'],
      ],
    );
    expect(stdout.text.split('\n')).toEqual([
      'tenant  duration  error',
      '------  --------  ----------',
      'acme        5 ms',
      'globex     1.2 s  a very lo…',
      '',
    ]);
  });
});

describe('argument parsing', () => {
  it('takes global flags before the command and two-word commands', () => {
    const inv = parseInvocation(['--config', 'x.json', 'tenants', 'rename', 'acme', 'acme-corp', '--json'], COMMANDS);
    expect(inv).toMatchObject({
      kind: 'run',
      command: { name: 'tenants rename' },
      args: { idOrSlug: 'acme', newSlug: 'acme-corp' },
      flags: { config: 'x.json', json: true },
    });
  });

  it('collects a repeatable flag', () => {
    const inv = parseInvocation(['migrate', '--tenant', 'a', '--tenant=b'], COMMANDS);
    expect(inv).toMatchObject({ kind: 'run', flags: { tenant: ['a', 'b'] } });
  });

  it('refuses a flag another command has', () => {
    expect(() => parseInvocation(['tenants', 'list', '--dry-run'], COMMANDS)).toThrow(UsageError);
    expect(() => parseInvocation(['tenants', 'list', '--dry-run'], COMMANDS)).toThrow(
      "unknown flag '--dry-run' for 'tenantry tenants list'",
    );
  });

  it('answers help for a command, a group and the whole CLI', () => {
    expect(parseInvocation(['migrate', '-h'], COMMANDS)).toMatchObject({ kind: 'help', command: { name: 'migrate' } });
    expect(parseInvocation(['help', 'tenants'], COMMANDS)).toEqual({ kind: 'help', group: 'tenants' });
    expect(parseInvocation(['--help'], COMMANDS)).toEqual({ kind: 'help' });
  });
});
