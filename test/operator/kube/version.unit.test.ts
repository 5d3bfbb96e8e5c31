import { expect } from 'chai';
import { MIN_KUBERNETES_VERSION, parseServerVersion, versionProblem } from '../../../operator/kube/version.kube.js';

const info = (gitVersion: string, major = '', minor = '') => ({ gitVersion, major, minor });

describe('API server version check', () => {
  it('reads major.minor from gitVersion, with or without a vendor suffix', () => {
    expect(parseServerVersion(info('v1.36.3', '1', '36'))).to.deep.equal({ major: 1, minor: 36 });
    expect(parseServerVersion(info('v1.30.1-gke.1000', '1', '30+'))).to.deep.equal({ major: 1, minor: 30 });
    expect(parseServerVersion(info('v1.28.15-eks-f69f56f', '1', '28'))).to.deep.equal({ major: 1, minor: 28 });
    expect(parseServerVersion(info('v1.29.0+k3s1'))).to.deep.equal({ major: 1, minor: 29 });
  });

  it('falls back to major and minor, ignoring a "+" on the minor', () => {
    expect(parseServerVersion(info('', '1', '29+'))).to.deep.equal({ major: 1, minor: 29 });
    expect(parseServerVersion(info('weird', '1', '31'))).to.deep.equal({ major: 1, minor: 31 });
  });

  it('returns null for an unstamped build or nothing readable', () => {
    expect(parseServerVersion(info('v0.0.0-master+$Format:%H$', '', ''))).to.equal(null);
    expect(parseServerVersion(info('', '', ''))).to.equal(null);
    expect(parseServerVersion(info('devel', 'x', 'y'))).to.equal(null);
  });

  it('refuses servers older than 1.29 and names both versions', () => {
    expect(MIN_KUBERNETES_VERSION).to.deep.equal({ major: 1, minor: 29 });
    expect(versionProblem({ major: 1, minor: 28 })).to.match(/Kubernetes 1\.28, older than 1\.29.*native sidecar/);
    expect(versionProblem({ major: 1, minor: 9 })).to.match(/1\.9, older than 1\.29/);
    expect(versionProblem({ major: 0, minor: 99 })).to.be.a('string');
  });

  it('accepts 1.29 and newer, compared as numbers', () => {
    expect(versionProblem({ major: 1, minor: 29 })).to.equal(null);
    expect(versionProblem({ major: 1, minor: 100 })).to.equal(null);
    expect(versionProblem({ major: 2, minor: 0 })).to.equal(null);
  });
});
