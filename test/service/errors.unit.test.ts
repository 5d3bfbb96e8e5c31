import { expect } from 'chai';
import { AppError, invalid, notFound, unavailable } from '../../service/errors.js';

describe('AppError', () => {
  it('exposes 4xx messages and hides 5xx messages by default', () => {
    expect(new AppError(409, 'conflict', 'x').expose).to.equal(true);
    expect(new AppError(500, 'boom', 'x').expose).to.equal(false);
    expect(new AppError(500, 'boom', 'x', { expose: true }).expose).to.equal(true);
    expect(new AppError(400, 'bad', 'x', { expose: false }).expose).to.equal(false);
  });

  it('keeps the cause', () => {
    const cause = new Error('low level');
    expect(new AppError(500, 'boom', 'x', { cause }).cause).to.equal(cause);
    expect(new AppError(500, 'boom', 'x')).to.not.have.property('cause');
  });

  it('has helpers for validation, missing resources and unavailable dependencies', () => {
    expect(invalid('caption', 'is too long')).to.include({ status: 400, code: 'validation_failed', field: 'caption', message: 'caption: is too long' });
    expect(notFound('photo 3')).to.include({ status: 404, code: 'not_found', message: 'photo 3 not found', field: undefined });
    const u = unavailable('cache_unavailable', 'try again', new Error('ECONNREFUSED'));
    expect(u).to.include({ status: 503, code: 'cache_unavailable', expose: true });
    expect(u).to.be.instanceOf(Error);
  });
});
