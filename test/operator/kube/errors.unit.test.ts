import { expect } from 'chai';
import { ApiException } from '@kubernetes/client-node';
import {
  TerminalError,
  apiMessageOf,
  isAlreadyExists,
  isConflict,
  isNotFound,
  isTerminalError,
  reasonOf,
  statusCodeOf,
} from '../../../operator/kube/errors.kube.js';

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

  it('reads the code, reason and message of a Status body, as a JSON string or an object', () => {
    const exists = new ApiException(409, 'conflict', JSON.stringify({ kind: 'Status', code: 409, reason: 'AlreadyExists', message: 'secrets "x" already exists' }), {});
    const stale = new ApiException(409, 'conflict', { kind: 'Status', code: 409, reason: 'Conflict', message: 'the object has been modified' }, {});
    expect(reasonOf(new Error('while creating', { cause: exists }))).to.equal('AlreadyExists');
    expect(isAlreadyExists(new Error('while creating', { cause: exists }))).to.equal(true);
    expect(isAlreadyExists(stale)).to.equal(false);
    expect(isConflict(stale)).to.equal(true);
    // A 409 without a Status reason (a bare response) is taken for AlreadyExists; other codes never are.
    expect(isAlreadyExists(new ApiException(409, 'conflict', '', {}))).to.equal(true);
    expect(isAlreadyExists(new ApiException(404, 'not found', JSON.stringify({ reason: 'AlreadyExists' }), {}))).to.equal(false);
    // A plain object carrying only a Status body (as a watch's error event does) has its code read from the body.
    expect(statusCodeOf({ body: { kind: 'Status', code: 410, reason: 'Expired' } })).to.equal(410);
    expect(reasonOf(new Error('plain'))).to.equal(undefined);
    expect(apiMessageOf(new Error('while creating Secret', { cause: exists }))).to.equal('secrets "x" already exists');
    expect(apiMessageOf(stale)).to.equal('the object has been modified');
    expect(apiMessageOf(new ApiException(500, 'boom', 'upstream connect error', {}))).to.equal('upstream connect error');
    expect(apiMessageOf(new Error('no body'))).to.equal('no body');
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
