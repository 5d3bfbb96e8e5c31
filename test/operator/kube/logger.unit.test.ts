import { expect } from 'chai';
import { createLogger, type LogLevel } from '../../../operator/kube/logger.kube.js';
import { FakeClock } from '../../support/fake-clock.js';

function capture(level: LogLevel = 'debug') {
  const lines: string[] = [];
  const clock = new FakeClock(Date.UTC(2025, 4, 6, 7, 8, 9, 10));
  const logger = createLogger({ level, clock, stream: { write: (s: string) => lines.push(s) } });
  const records = () => lines.map((l) => JSON.parse(l) as Record<string, unknown>);
  return { logger, lines, records };
}

describe('createLogger', () => {
  it('writes one JSON object per line with ts, level, msg and fields', () => {
    const { logger, lines, records } = capture();
    logger.info('reconciled', { key: 'photos/graminsta', durationMs: 12 });
    expect(lines).to.have.length(1);
    expect(lines[0]!.endsWith('\n')).to.equal(true);
    expect(lines[0]!.trimEnd()).to.not.include('\n');
    expect(records()[0]).to.deep.equal({ ts: '2025-05-06T07:08:09.010Z', level: 'info', msg: 'reconciled', key: 'photos/graminsta', durationMs: 12 });
  });

  it('drops lines below the level', () => {
    const { logger, records } = capture('warn');
    logger.debug('d');
    logger.info('i');
    logger.warn('w');
    logger.error('e');
    expect(records().map((r) => r.level)).to.deep.equal(['warn', 'error']);
  });

  it('child loggers carry their fields, and call fields win', () => {
    const { logger, records } = capture();
    const child = logger.child({ controller: 'graminstaapp', key: 'a' }).child({ worker: 1 });
    child.info('x', { key: 'b' });
    expect(records()[0]).to.include({ controller: 'graminstaapp', key: 'b', worker: 1 });
  });

  it('serialises errors with message and the cause chain', () => {
    const { logger, records } = capture();
    const root = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:6443'), { code: 'ECONNREFUSED' });
    const err = new Error('while applying Service photos/graminsta-api', { cause: Object.assign(new Error('HTTP 500'), { cause: root, statusCode: 500 }) });
    logger.error('reconcile failed', { error: err });
    type Logged = { message: string; statusCode?: number; code?: string; cause?: Logged };
    const logged = records()[0]!.error as Logged;
    expect(logged.message).to.equal('while applying Service photos/graminsta-api');
    expect(logged.cause?.message).to.equal('HTTP 500');
    expect(logged.cause?.statusCode).to.equal(500);
    expect(logged.cause?.cause).to.include({ message: 'connect ECONNREFUSED 127.0.0.1:6443', code: 'ECONNREFUSED' });
  });

  it('redacts fields named like password, token or secret, also nested', () => {
    const { logger, lines } = capture();
    logger.info('config', {
      password: 'hunter2',
      dbPassword: 'hunter3',
      apiToken: 'tok',
      nested: { clientSecret: 's3cr3t', name: 'ok', list: [{ token: 'abc' }] },
      Authorization: 'Bearer xyz',
    });
    expect(lines[0]).to.not.match(/hunter2|hunter3|tok"|s3cr3t|abc|xyz/);
    const record = JSON.parse(lines[0]!);
    expect(record.password).to.equal('[REDACTED]');
    expect(record.nested.name).to.equal('ok');
    expect(record.nested.list[0].token).to.equal('[REDACTED]');
  });

  it('survives circular fields and keeps the reserved keys intact', () => {
    const { logger, records } = capture();
    const a: Record<string, unknown> = { name: 'a' };
    a.self = a;
    const shared = { n: 1 };
    logger.info('m', { a, pair: [shared, shared], msg: 'not the message', level: 'nope' });
    const r = records()[0]!;
    expect(r.msg).to.equal('m');
    expect(r.level).to.equal('info');
    expect(r['field.msg']).to.equal('not the message');
    expect((r.a as Record<string, unknown>).self).to.equal('[Circular]');
    expect(r.pair).to.deep.equal([{ n: 1 }, { n: 1 }]);
  });

  it('rejects an unknown level naming the field', () => {
    expect(() => createLogger({ level: 'verbose' as LogLevel })).to.throw(/level/);
  });
});
