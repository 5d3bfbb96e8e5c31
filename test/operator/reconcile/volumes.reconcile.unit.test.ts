import { expect } from 'chai';
import { decideVolume, slimClaim } from '../../../operator/reconcile/volumes.reconcile.js';

describe('volumes.reconcile', () => {
  const claim = { name: 'data-db-0', storageClassName: 'graminsta-local', requested: '10Gi', capacity: '10Gi' };

  it('patches a larger size onto a claim whose StorageClass allows expansion', () => {
    expect(decideVolume('20Gi', claim, true)).to.deep.equal({ action: 'expand', to: '20Gi' });
  });

  it('compares quantities, not strings (10240Mi equals 10Gi)', () => {
    expect(decideVolume('10240Mi', claim, true)).to.deep.equal({ action: 'none' });
  });

  it('reports, naming the claim and the class, when the StorageClass does not allow expansion', () => {
    const d = decideVolume('20Gi', { ...claim, storageClassName: 'graminsta-local-fixed' }, false);
    expect(d).to.include({ action: 'report', reason: 'VolumeExpansionNotAllowed' });
    expect((d as { message: string }).message).to.contain('data-db-0').and.contain('graminsta-local-fixed');
  });

  it('treats an unknown StorageClass as not expandable', () => {
    expect(decideVolume('20Gi', claim, undefined)).to.include({ action: 'report', reason: 'VolumeExpansionNotAllowed' });
  });

  it('never shrinks, even where expansion is allowed', () => {
    expect(decideVolume('5Gi', claim, true)).to.include({ action: 'report', reason: 'VolumeCannotShrink' });
  });

  it('reports resizing while capacity is below the request', () => {
    expect(decideVolume('20Gi', { ...claim, requested: '20Gi' }, true)).to.include({ action: 'resizing' });
  });

  it('reports resizing while the claim has a FileSystemResizePending condition', () => {
    expect(decideVolume('10Gi', { ...claim, conditions: ['FileSystemResizePending'] }, true)).to.include({ action: 'resizing' });
  });

  it('does not call an unbound claim (no capacity yet) resizing', () => {
    expect(decideVolume('10Gi', { ...claim, capacity: undefined }, true)).to.deep.equal({ action: 'none' });
  });

  it('names the claim when the desired size is not a quantity', () => {
    expect(() => decideVolume('big', claim, true)).to.throw(/data-db-0/);
  });

  it('slims a claim to what the reconciler reads: identity, labels, class, request, capacity, condition types', () => {
    const slim = slimClaim({
      apiVersion: 'v1',
      kind: 'PersistentVolumeClaim',
      metadata: {
        name: 'data-g-db-0',
        namespace: 'photos',
        uid: 'u1',
        resourceVersion: '42',
        labels: { 'app.kubernetes.io/instance': 'g' },
        annotations: { 'pv.kubernetes.io/bind-completed': 'yes' },
        finalizers: ['kubernetes.io/pvc-protection'],
      },
      spec: { accessModes: ['ReadWriteOnce'], storageClassName: 'local', volumeName: 'pv-1', resources: { requests: { storage: '10Gi' } } },
      status: { phase: 'Bound', capacity: { storage: '10Gi' }, conditions: [{ type: 'Resizing', status: 'True', message: 'long text' }] },
    });
    expect(slim).to.deep.equal({
      apiVersion: 'v1',
      kind: 'PersistentVolumeClaim',
      metadata: { name: 'data-g-db-0', namespace: 'photos', uid: 'u1', resourceVersion: '42', labels: { 'app.kubernetes.io/instance': 'g' } },
      spec: { storageClassName: 'local', resources: { requests: { storage: '10Gi' } } },
      status: { capacity: { storage: '10Gi' }, conditions: [{ type: 'Resizing', status: 'True' }] },
    });
    expect(slimClaim({ metadata: { name: 'x', deletionTimestamp: new Date(0) } }).metadata).to.have.property('deletionTimestamp');
  });
});
