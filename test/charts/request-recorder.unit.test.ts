import { expect } from 'chai';
import { permissionOf, permissionsOf } from './request-recorder.js';

describe('permissionOf (request → RBAC permission)', () => {
  const cases: [string, string, string | undefined][] = [
    ['GET', '/api/v1/namespaces/p/secrets/db', 'core/secrets get'],
    ['GET', '/api/v1/namespaces/p/configmaps?labelSelector=a%3Db', 'core/configmaps list'],
    ['GET', '/api/v1/configmaps?watch=true&resourceVersion=5', 'core/configmaps watch'],
    ['GET', '/apis/apps/v1/namespaces/p/deployments?watch=1', 'apps/deployments watch'],
    ['PATCH', '/apis/apps/v1/namespaces/p/deployments/web?fieldManager=x&force=true', 'apps/deployments patch'],
    ['PATCH', '/apis/graminsta.io/v1alpha1/namespaces/p/graminstaapps/g/status', 'graminsta.io/graminstaapps/status patch'],
    ['POST', '/api/v1/namespaces/p/events', 'core/events create'],
    ['PUT', '/apis/coordination.k8s.io/v1/namespaces/s/leases/l', 'coordination.k8s.io/leases update'],
    ['DELETE', '/apis/batch/v1/namespaces/p/jobs/j', 'batch/jobs delete'],
    ['DELETE', '/apis/batch/v1/namespaces/p/jobs', 'batch/jobs deletecollection'],
    ['GET', '/api/v1/namespaces/p', 'core/namespaces get'],
    ['GET', '/apis/apps/v1', undefined],
    ['GET', '/api/v1', undefined],
    ['GET', '/apis', undefined],
    ['GET', '/version', undefined],
  ];
  for (const [method, path, want] of cases) {
    it(`${method} ${path} → ${want ?? 'non-resource'}`, () => expect(permissionOf(method, path)).to.equal(want));
  }

  it('counts a server-side apply that created its object (201) as patch and create', () => {
    const path = '/apis/apps/v1/namespaces/p/deployments/web?fieldManager=x';
    expect(permissionsOf('PATCH', path, 201)).to.deep.equal(['apps/deployments patch', 'apps/deployments create']);
    expect(permissionsOf('PATCH', path, 200)).to.deep.equal(['apps/deployments patch']);
    expect(permissionsOf('GET', '/apis/apps/v1', 200)).to.deep.equal([]);
  });
});
