import { expect } from 'chai';
import { pgSsl } from '../../../service/db/tls.js';

describe('pgSsl (TLS options of the connections to Postgres)', () => {
  it('maps each sslmode to what tls.connect checks', () => {
    expect(pgSsl({ mode: 'disable', rootCertPath: '' })).to.equal(undefined);
    expect(pgSsl({ mode: 'require', rootCertPath: '/ca.crt' })).to.deep.equal({ rejectUnauthorized: false });
    const full = pgSsl({ mode: 'verify-full', rootCertPath: '' })!;
    expect(full.rejectUnauthorized).to.equal(true);
    expect(full.checkServerIdentity).to.equal(undefined);
    // Without a CA file: Node's public CAs (no ca option at all).
    expect('ca' in full).to.equal(false);
    const chainOnly = pgSsl({ mode: 'verify-ca', rootCertPath: '' })!;
    expect(chainOnly.checkServerIdentity!('db.example', {} as never)).to.equal(undefined);
  });

  it('reads the CA file again for every connection (pg copies the options each time), keeping the last content when a read fails', () => {
    let content: string | Error = 'CA 1';
    let reads = 0;
    const ssl = pgSsl({ mode: 'verify-full', rootCertPath: '/etc/ca.crt' }, (path) => {
      expect(path).to.equal('/etc/ca.crt');
      reads++;
      if (content instanceof Error) throw content;
      return content;
    })!;
    // What pg's connection does for each new connection.
    expect(Object.assign({}, ssl).ca).to.equal('CA 1');
    content = 'CA 2';
    expect(Object.assign({}, ssl).ca).to.equal('CA 2');
    content = new Error('ENOENT: the kubelet is swapping ..data');
    expect(Object.assign({}, ssl).ca).to.equal('CA 2');
    expect(reads).to.equal(3);
  });
});
