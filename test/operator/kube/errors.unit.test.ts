import { expect } from 'chai';
import { ApiException } from '@kubernetes/client-node';
import { TerminalError, isConflict, isNotFound, isTerminalError, statusCodeOf } from '../../../operator/kube/errors.kube.js';

describe('kube errors', () => {
  it('reads the status code from ApiException, watch errors and the cause chain', () => {
    const notFound = new ApiException(404, 'not found', {}, {});
    expect(statusCodeOf(notFound)).to.equal(404);
    expect(isNotFound(new Error('while reading', { cause: notFound }))).to.equal(true);
    expect(isConflict(Object.assign(new Error('Conflict'), { statusCode: 409 }))).to.equal(true);
    expect(statusCodeOf(Object.assign(new Error('refused'), { code: 'ECONNREFUSED' }))).to.equal(undefined);
    expect(statusCodeOf('nope')).to.equal(undefined);
    expect(isNotFound(new ApiException(409, 'conflict', {}, {}))).to.equal(false);
  });

  it('finds a TerminalError anywhere in the cause chain', () => {
    expect(isTerminalError(new TerminalError('bad'))).to.equal(true);
    expect(isTerminalError(new Error('outer', { cause: new TerminalError('bad') }))).to.equal(true);
    expect(isTerminalError(new Error('plain'))).to.equal(false);
    const loop: Error & { cause?: unknown } = new Error('loop');
    loop.cause = loop;
    expect(isTerminalError(loop)).to.equal(false);
  });
});
